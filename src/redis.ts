import { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import { withTimeout } from './timeout.js';

/** Wait for the first connection at start-up before reporting REDIS_URL as unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;
/** The only policy under which Redis never deletes BullMQ's keys to free memory. */
export const REQUIRED_EVICTION_POLICY = 'noeviction';

/**
 * The Redis connections of one process. BullMQ workers block on Redis and need unlimited
 * retries per request. Everything else (queue writes, rate limits, health checks) fails fast
 * while Redis is away, so a caller retries on its own schedule instead of hanging.
 */
export interface RedisConnections {
  /** For BullMQ workers: commands wait for the connection to come back. */
  blocking: Redis;
  /** For queue writes, rate limits and checks: commands fail at once while disconnected. */
  commands: Redis;
  close(): Promise<void>;
}

/** Opens both connections and waits until the command connection is ready. */
export async function connectRedis(url: string, logger: Logger): Promise<RedisConnections> {
  const blocking = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
  const commands = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  for (const [name, connection] of [
    ['blocking', blocking],
    ['commands', commands],
  ] as const) {
    let errors = 0;
    connection.on('error', (error) => {
      // ioredis emits an error on every failed reconnect, about every 2 s; log the first only.
      errors += 1;
      if (errors === 1) logger.warn({ err: error, connection: name }, 'redis connection error; reconnecting');
    });
    connection.on('ready', () => {
      if (errors > 0) logger.info({ connection: name, errors }, 'redis connection restored');
      errors = 0;
    });
  }
  const close = async () => {
    await Promise.allSettled([blocking.quit(), commands.quit()]);
    blocking.disconnect();
    commands.disconnect();
  };
  try {
    await withTimeout(Promise.all([blocking.connect(), commands.connect()]), CONNECT_TIMEOUT_MS, 'connecting to Redis');
  } catch (error) {
    await close();
    throw error;
  }
  return { blocking, commands, close };
}

/**
 * Reads `maxmemory-policy` from `INFO memory`, which managed Redis services allow even where
 * they disable `CONFIG GET`. Returns `undefined` when the server does not report it.
 */
export async function readEvictionPolicy(redis: Redis): Promise<string | undefined> {
  const info = await redis.info('memory');
  const match = /^maxmemory_policy:(\S+)/m.exec(info);
  return match?.[1];
}

/** Explains how to fix an eviction policy other than `noeviction`. */
export function describeEvictionPolicyProblem(policy: string): string {
  return (
    `REDIS_URL: Redis evicts keys under memory pressure (maxmemory-policy is ${policy}), and BullMQ ` +
    `then loses scheduled jobs. Set it to ${REQUIRED_EVICTION_POLICY}: run ` +
    `\`redis-cli CONFIG SET maxmemory-policy ${REQUIRED_EVICTION_POLICY}\` and put ` +
    `\`maxmemory-policy ${REQUIRED_EVICTION_POLICY}\` in redis.conf (or your provider's parameter group)`
  );
}
