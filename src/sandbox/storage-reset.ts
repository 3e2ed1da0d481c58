/**
 * Wipes the sandbox's own storage for a reset: its database is dropped whole, because the audit
 * trail rejects deletes by design, and its Redis keys go so that no job of the old data fires.
 */
import { Redis } from 'ioredis';
import postgres from 'postgres';

// Keys deleted per SCAN step: large enough to be quick, small enough not to block Redis.
const REDIS_SCAN_COUNT = 500;

/** Drops the database named in `databaseUrl`, closing other sessions on it first. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (name === '') throw new Error('the sandbox database URL names no database');
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => undefined, connect_timeout: 5 });
  try {
    await sql.unsafe(`drop database if exists "${name.replaceAll('"', '""')}" with (force)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Deletes every Redis key under `prefix:`. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', REDIS_SCAN_COUNT);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
