import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, ensureDatabaseExists, runMigrations, type DatabaseHandle } from '../../db/client.js';
import { roles } from '../../db/schema.js';
import { createTestEnvironment, type TestEnvironment } from '../support/harness.js';

let environment: TestEnvironment;

beforeAll(async () => {
  environment = createTestEnvironment();
  await ensureDatabaseExists(environment.databaseUrl);
  await runMigrations(environment.databaseUrl);
});

afterAll(async () => {
  await environment?.destroy();
});

/** Runs `work` on a pool of one connection, so every statement goes to the same session. */
async function withOneConnection<T>(preparedStatements: boolean, work: (database: DatabaseHandle) => Promise<T>): Promise<T> {
  const database = connectDatabase(environment.databaseUrl, { maxConnections: 1, preparedStatements });
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/** Counts the statements the session prepared through the protocol whose text contains `marker`. */
async function preparedCount(database: DatabaseHandle, marker: string): Promise<number> {
  const rows = await database.db.execute<{ count: number }>(sql`
    select count(*)::int as count from pg_prepared_statements
    where not from_sql and statement like ${`%${marker}%`}`);
  return rows[0]?.count ?? 0;
}

describe('Postgres client', () => {
  it('prepares once, plans each run', async () => {
    await withOneConnection(true, async (database) => {
      for (const slug of ['first-marker-role', 'second-marker-role', 'third-marker-role']) {
        const found = await database.db.select({ id: roles.id }).from(roles).where(sql`${roles.slug} = ${slug} and 'marker' = 'marker'`);
        expect(found).toEqual([]);
      }

      expect(await preparedCount(database, `'marker' = 'marker'`)).toBe(1);
      const [mode] = await database.db.execute<{ plan_cache_mode: string }>(sql`show plan_cache_mode`);
      expect(mode?.plan_cache_mode).toBe('force_custom_plan');
    });
  });

  it('any list length, one statement', async () => {
    await withOneConnection(true, async (database) => {
      for (const ids of [[1], [1, 2, 3], Array.from({ length: 500 }, (_, index) => index)]) {
        const rows = await database.db.execute<{ count: number }>(
          sql`select count(*)::int as count from unnest(${sql.param(ids)}::bigint[]) as listed(id) where 'array-marker' <> ''`,
        );
        expect(rows[0]?.count).toBe(ids.length);
      }

      expect(await preparedCount(database, 'array-marker')).toBe(1);
    });
  });

  it('prepares nothing when turned off', async () => {
    await withOneConnection(false, async (database) => {
      const found = await database.db.select({ id: roles.id }).from(roles).where(sql`${roles.slug} = ${'no-such-role'} and 'off-marker' <> ''`);

      expect(found).toEqual([]);
      expect(await preparedCount(database, 'off-marker')).toBe(0);
      // The server's default: no start-up parameter is sent that a pooler might reject.
      const [mode] = await database.db.execute<{ plan_cache_mode: string }>(sql`show plan_cache_mode`);
      expect(mode?.plan_cache_mode).toBe('auto');
    });
  });
});
