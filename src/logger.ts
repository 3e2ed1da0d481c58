import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Creates the process logger. Redaction is a second line of defence: code must not log
 * tokens or justifications, but if a whole request or config object slips into a log call,
 * these paths are masked.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'slack-pim' },
    redact: {
      paths: [
        'token',
        '*.token',
        'botToken',
        '*.botToken',
        'appToken',
        '*.appToken',
        'signingSecret',
        '*.signingSecret',
        'justification',
        '*.justification',
        'headers.authorization',
        '*.headers.authorization',
      ],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
