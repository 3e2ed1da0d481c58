import pino, { type Logger } from 'pino';
import { currentLogFields } from './request-context.js';

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
    // Adds the ids of the request or job in progress. Keys a child logger already binds are
    // skipped, so no line carries the same key twice.
    mixin: (_mergeObject, _level, logger) => {
      const fields = currentLogFields();
      const keys = Object.keys(fields);
      if (keys.length === 0) return {};
      const bound = logger.bindings();
      const added: Record<string, unknown> = {};
      for (const key of keys) if (!(key in bound)) added[key] = fields[key];
      return added;
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
