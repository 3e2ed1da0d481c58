import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../logger.js';

const PINO_LEVEL: Record<LogLevel, string> = {
  [LogLevel.DEBUG]: 'debug',
  [LogLevel.INFO]: 'info',
  [LogLevel.WARN]: 'warn',
  [LogLevel.ERROR]: 'error',
};

/** Adapts pino to the logger interface Bolt and its receivers expect. */
export function toBoltLogger(logger: Logger): BoltLogger {
  let name = 'bolt';
  let child = logger.child({ component: name });
  return {
    debug: (...message) => child.debug(message.map(String).join(' ')),
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
