import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema.js';

/** Folder of the SQL migrations written by drizzle-kit. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

// Any constant works as long as every slack-pim process uses the same one: it serialises
// concurrent start-ups so that two replicas never apply the same migration at once.
const MIGRATION_LOCK_KEY = 7_301_145_001;

export type Database = PostgresJsDatabase<typeof schema>;
/** A transaction handle; services take it so that a change and its audit event commit together. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
export type Executor = Database | Transaction;

/** A connected database: the drizzle handle and the raw postgres.js client behind it. */
export interface DatabaseHandle {
  db: Database;
  sql: postgres.Sql;
  close(): Promise<void>;
}

interface ConnectOptions {
  /** Connection pool size. */
  maxConnections?: number;
  onNotice?: (notice: postgres.Notice) => void;
  /**
   * Named prepared statements, on by default. Without them each query with parameters costs two
   * round trips, so turn them off only behind a pooler that cannot keep them.
   */
  preparedStatements?: boolean;
}

/** Opens a pool on `url`. Timestamps come back as `Date` because every column is timestamptz. */
export function connectDatabase(url: string, options: ConnectOptions = {}): DatabaseHandle {
  const prepare = options.preparedStatements ?? true;
  const sql = postgres(url, {
    max: options.maxConnections ?? 10,
    onnotice: options.onNotice ?? (() => undefined),
    connect_timeout: 5,
    // A dead server must fail a query quickly instead of queueing it for ever, so that a
    // command can still be answered within Slack's 3 seconds.
    idle_timeout: 60,
    // Parsed once per connection, a prepared statement runs in one round trip, shared by queries
    // issued together. Unprepared, a query with parameters takes two (patches/README.md).
    prepare,
    // Plans each run with its values, since a generic plan outlives the small table it was made
    // for. Sent only with prepared statements: PgBouncer rejects unknown start-up parameters.
    connection: prepare ? { plan_cache_mode: 'force_custom_plan' } : {},
  });
  const db = drizzle(sql, { schema });
  return {
    db,
    sql,
    close: () => sql.end({ timeout: 5 }),
  };
}

/** Creates the database named in `url` when the server does not have it yet. */
export async function ensureDatabaseExists(url: string): Promise<{ created: boolean }> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (name === '') {
    throw new Error('DATABASE_URL names no database: add one, as in postgres://localhost:5432/pim');
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => undefined, connect_timeout: 5 });
  try {
    const existing = await sql`select 1 from pg_database where datname = ${name}`;
    if (existing.length > 0) return { created: false };
    try {
      await sql.unsafe(`create database ${quoteIdentifier(name)}`);
    } catch (error) {
      // Two processes starting together may both try; the loser sees duplicate_database.
      if (isPostgresError(error, '42P04')) return { created: false };
      throw error;
    }
    return { created: true };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Applies pending migrations, holding an advisory lock so concurrent start-ups take turns. */
export async function runMigrations(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined, connect_timeout: 5 });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Reports whether every migration in the journal has been applied to this database. */
export async function migrationsApplied(sql: postgres.Sql): Promise<boolean> {
  const expected = migrationCount();
  const rows = await sql<{ count: string }[]>`
    select count(*)::text as count from drizzle.__drizzle_migrations`.catch((error: unknown) => {
    if (isPostgresError(error, '42P01') || isPostgresError(error, '3F000')) return [{ count: '0' }];
    throw error;
  });
  return Number(rows[0]?.count ?? 0) >= expected;
}

/** Reports whether `error` is a Postgres error with SQLSTATE `code`. */
export function isPostgresError(error: unknown, code: string): boolean {
  return error instanceof postgres.PostgresError && error.code === code;
}

let cachedMigrationCount: number | undefined;

function migrationCount(): number {
  if (cachedMigrationCount === undefined) {
    const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as {
      entries: unknown[];
    };
    cachedMigrationCount = journal.entries.length;
  }
  return cachedMigrationCount;
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
