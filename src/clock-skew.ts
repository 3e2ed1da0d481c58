import type postgres from 'postgres';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/** Difference between this process's clock and PostgreSQL's above which `/readyz` warns. */
export const CLOCK_SKEW_WARNING_MS = 1_000;

/**
 * Measures how far this process's clock is ahead of PostgreSQL's, in milliseconds (negative when
 * behind). The reading is taken against the middle of the query's round trip, so it is off by at
 * most half of that round trip.
 */
export async function measureClockSkew(sql: postgres.Sql, clock: Clock): Promise<number> {
  const before = clock.now().getTime();
  const [row] = await sql<{ ms: number }[]>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`;
  const after = clock.now().getTime();
  if (row === undefined) throw new Error('PostgreSQL returned no time');
  return (before + after) / 2 - row.ms;
}

/** Describes a skew beyond `CLOCK_SKEW_WARNING_MS` for operators, or returns `undefined` within it. */
export function describeClockSkew(skewMs: number): string | undefined {
  if (Math.abs(skewMs) <= CLOCK_SKEW_WARNING_MS) return undefined;
  const seconds = (Math.abs(skewMs) / 1000).toFixed(1);
  const direction = skewMs > 0 ? 'ahead of' : 'behind';
  return `this process's clock is ${seconds} s ${direction} PostgreSQL's, so activations can end up to ${seconds} s early or late; synchronize the hosts' clocks with NTP`;
}

/**
 * Logs a warning at start-up when this process's clock is off PostgreSQL's. A failed reading is
 * logged too but does not stop start-up: `/readyz` keeps checking.
 */
export async function warnOfClockSkew(sql: postgres.Sql, clock: Clock, logger: Logger): Promise<void> {
  try {
    const skewMs = await measureClockSkew(sql, clock);
    const problem = describeClockSkew(skewMs);
    if (problem !== undefined) logger.warn({ clockSkewMs: Math.round(skewMs) }, problem);
  } catch (error) {
    logger.warn({ err: error }, 'comparing the clock with PostgreSQL failed; /readyz checks it again');
  }
}
