import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger.js';

/** A logger whose JSON lines the test can read back. */
export interface CapturedLog {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Lines whose `msg` contains `text`. */
  find(text: string): Record<string, unknown>[];
  /** Every line written so far, as the JSON text pino wrote. */
  rawLines(): string[];
}

/** Creates a logger at `level` that keeps its output in memory. */
export function captureLog(level = 'debug'): CapturedLog {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(...chunk.toString().split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    logger: createLogger(level, stream),
    lines,
    find: (text) => lines().filter((line) => typeof line.msg === 'string' && line.msg.includes(text)),
    rawLines: () => [...raw],
  };
}
