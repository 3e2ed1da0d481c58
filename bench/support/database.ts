import { Redis } from 'ioredis';
import postgres from 'postgres';
import { connectDatabase, ensureDatabaseExists, runMigrations, type DatabaseHandle } from '../../db/client.js';
import { systemClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import type { ServiceContext } from '../../src/services/context.js';

/** Postgres server of the benchmarks; each database they create is named `pim_bench_…`. */
export const BENCH_POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
/** Redis of the benchmarks; every key they write starts with `pimbench-…`. */
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A database and Redis prefix owned by the benchmark run. */
export interface BenchStore {
  databaseName: string;
  databaseUrl: string;
  redisPrefix: string;
  handle: DatabaseHandle;
  /** Services called from the driver (seeding) use this context on the same database. */
  context: ServiceContext;
  drop(): Promise<void>;
}

/** Creates and migrates `pim_bench_<name>` and names the Redis prefix `pimbench-<name>`. */
export async function createBenchStore(name: string, securityChannelId: string): Promise<BenchStore> {
  const databaseName = `pim_bench_${name}`;
  const databaseUrl = `${BENCH_POSTGRES_URL}/${databaseName}`;
  const redisPrefix = `pimbench-${name}`;
  await ensureDatabaseExists(databaseUrl);
  await runMigrations(databaseUrl);
  const handle = connectDatabase(databaseUrl, { maxConnections: 4 });
  const context: ServiceContext = {
    db: handle.db,
    clock: systemClock,
    logger: createLogger('silent'),
    securityChannelId,
    directory: { listUserGroupMembers: async () => [] },
    adminsConfigured: true,
  };
  return {
    databaseName,
    databaseUrl,
    redisPrefix,
    handle,
    context,
    drop: async () => {
      await handle.close();
      const admin = postgres(`${BENCH_POSTGRES_URL}/postgres`, { max: 1, onnotice: () => undefined });
      try {
        await admin.unsafe(`drop database if exists "${databaseName}" with (force)`);
      } finally {
        await admin.end({ timeout: 5 });
      }
      await deleteRedisKeys(redisPrefix);
    },
  };
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(BENCH_REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Returns the id of a role by slug; throws when it is missing. */
export async function roleId(sql: postgres.Sql, slug: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`select id from roles where slug = ${slug}`;
  if (row === undefined) throw new Error(`role ${slug} not found in the benchmark database`);
  return row.id;
}

/**
 * Makes `userIds` eligible for a role with current, permanent assignments, as
 * `/pim assign @user role eligible` writes them (without the audit events, which no benchmark reads).
 */
export async function seedEligible(sql: postgres.Sql, role: string, userIds: readonly string[]): Promise<void> {
  const id = await roleId(sql, role);
  await sql`
    insert into assignments (role_id, user_id, kind, status, starts_at, assigned_by)
    select ${id}::uuid, user_id, 'eligible', 'current', now() - interval '1 day', 'UBENCHADMIN'
    from unnest(${sql.array([...userIds])}::text[]) as user_id`;
}

/**
 * Records `userIds` as users who have opened the app's Home tab, so changes refresh their tabs
 * in the background as they would in production.
 */
export async function seedHomeTabViewers(store: BenchStore, userIds: readonly string[]): Promise<void> {
  await store.handle.sql`
    insert into home_tab_viewers (user_id) select jsonb_array_elements_text(${JSON.stringify(userIds)}::jsonb)
    on conflict do nothing`;
}
