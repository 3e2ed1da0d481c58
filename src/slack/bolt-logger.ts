import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../logger.js';

const PINO_LEVEL: Record<LogLevel, string> = {
  [LogLevel.DEBUG]: 'debug',
  [LogLevel.INFO]: 'info',
  [LogLevel.WARN]: 'warn',
  [LogLevel.ERROR]: 'error',
};

/**
 * Debug messages of `@slack/web-api` and `@slack/socket-mode` that end in a whole request or
 * payload: message texts, justifications, denial reasons, modal inputs, e-mail addresses. The
 * part after each prefix is dropped, because pino's redaction applies only to object fields.
 */
const PAYLOAD_PREFIXES = [
  'http request body: ',
  'http request result: ',
  'Received a message on the WebSocket: ',
  'Unable to parse an incoming WebSocket message (will ignore): ',
  'Sending a WebSocket message: ',
] as const;
// socket-mode's ack line ends in the ack body after this marker: `Calling ack() - type: …, data: {…}`.
const ACK_PREFIX = 'Calling ack() - ';
const ACK_DATA_MARKER = ', data: ';
const OMITTED = '[omitted: may contain user input]';

/** Returns a library debug message with any request or payload it ends in replaced by a placeholder. */
export function withoutPayload(message: string): string {
  for (const prefix of PAYLOAD_PREFIXES) {
    if (message.startsWith(prefix)) return `${prefix}${OMITTED}`;
  }
  if (message.startsWith(ACK_PREFIX)) {
    const data = message.indexOf(ACK_DATA_MARKER);
    if (data !== -1) return `${message.slice(0, data + ACK_DATA_MARKER.length)}${OMITTED}`;
  }
  return message;
}

/** Adapts pino to the logger interface Bolt and its receivers expect. */
export function toBoltLogger(logger: Logger): BoltLogger {
  let name = 'bolt';
  let child = logger.child({ component: name });
  return {
    // web-api writes four debug lines per call, so their text is built only when debug is on.
    debug: (...message) => {
      if (child.isLevelEnabled('debug')) child.debug(withoutPayload(message.map(String).join(' ')));
    },
    info: (...message) => child.info(message.map(String).join(' ')),
    warn: (...message) => child.warn(message.map(String).join(' ')),
    error: (...message) => child.error(message.map(String).join(' ')),
    setLevel: (level) => {
      child.level = PINO_LEVEL[level];
    },
    getLevel: () => {
      const level = child.level;
      if (level === 'debug' || level === 'trace') return LogLevel.DEBUG;
      if (level === 'warn') return LogLevel.WARN;
      if (level === 'error' || level === 'fatal') return LogLevel.ERROR;
      return LogLevel.INFO;
    },
    setName: (newName) => {
      name = newName;
      child = logger.child({ component: name });
    },
  };
}
