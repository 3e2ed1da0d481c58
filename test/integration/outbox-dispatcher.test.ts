import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, ensureDatabaseExists, runMigrations, type DatabaseHandle } from '../../db/client.js';
import { DeliveredMarks } from '../../src/jobs/delivered-marks.js';
import { MAX_IN_FLIGHT, OutboxDispatcher, type OutboxDelivery } from '../../src/jobs/outbox-dispatcher.js';
import { createLogger } from '../../src/logger.js';
import { OUTBOX_CHANNEL } from '../../src/services/outbox.js';
import { createTestEnvironment, eventually, type TestEnvironment } from '../support/harness.js';

// More rows than one claim takes, so the tests see several claims.
const BURST_ROWS = 250;
// Commits smaller than one claim, each with its NOTIFY and far enough apart to be claimed on
// their own, that together exceed the dispatcher's in-flight cap.
const TRICKLE_COMMITS = 6;
const TRICKLE_ROWS_PER_COMMIT = 45;
const TRICKLE_GAP_MS = 250;
// More ids than Postgres accepts bind parameters in one statement (65,535).
const MARKED_AT_ONCE = 70_000;

let environment: TestEnvironment;
let database: DatabaseHandle;
let dispatcher: OutboxDispatcher | undefined;

beforeAll(async () => {
  environment = createTestEnvironment();
  await ensureDatabaseExists(environment.databaseUrl);
  await runMigrations(environment.databaseUrl);
  database = connectDatabase(environment.databaseUrl, { maxConnections: 4 });
});

afterEach(async () => {
  await dispatcher?.stop();
  dispatcher = undefined;
  await database.sql`delete from outbox`;
});

afterAll(async () => {
  await database.close();
  await environment.destroy();
});

describe('outbox dispatcher', () => {
  it('delivers a burst once each and marks every row', async () => {
    await insertNotices(BURST_ROWS);
    const delivered: OutboxDelivery[] = [];
    await startDispatcher(async (delivery) => {
      delivered.push(delivery);
    });

    await eventually(async () => ((await countUndelivered()) === 0 ? true : undefined));
    expect(delivered).toHaveLength(BURST_ROWS);
    expect(new Set(delivered.map((delivery) => delivery.id)).size).toBe(BURST_ROWS);
    expect(delivered.every((delivery) => delivery.attempts === 1)).toBe(true);
    const [row] = await database.sql<{ attempts: number; unlocked: number }[]>`
      select sum(attempts)::int as attempts, count(*) filter (where locked_until is null)::int as unlocked from outbox`;
    expect(row?.attempts).toBe(BURST_ROWS);
    expect(row?.unlocked).toBe(BURST_ROWS);
  });

  it('leaves Home refreshes to the Home refresher', async () => {
    await database.sql`
      insert into outbox (kind, payload)
      select 'home_refresh', jsonb_build_object('userIds', jsonb_build_array('UREFRESH' || n), 'administrators', false)
      from generate_series(1, ${BURST_ROWS}) as n`;
    await insertNotices(1);
    const kinds: string[] = [];
    await startDispatcher(async (delivery) => {
      kinds.push(delivery.item.kind);
    });

    await eventually(async () => ((await countUndelivered()) === BURST_ROWS ? true : undefined));
    expect(kinds).toEqual(['notice']);
    const [row] = await database.sql<{ claimed: number }[]>`
      select count(*)::int as claimed from outbox where kind = 'home_refresh' and attempts > 0`;
    expect(row?.claimed).toBe(0);
  });

  it('delivers new rows while a slow one runs', async () => {
    await insertNotices(1);
    let releaseSlow = (): void => undefined;
    const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
    const delivered: string[] = [];
    // The first row's delivery waits until released, like a Slack call that hangs.
    await startDispatcher(async (delivery) => {
      delivered.push((delivery.item.payload as { to: { userId: string } }).to.userId);
      if (delivered.length === 1) await slow;
    });
    await eventually(async () => (delivered.length === 1 ? true : undefined));

    await database.sql`
      insert into outbox (kind, payload)
      values ('notice', jsonb_build_object('to', jsonb_build_object('userId', 'ULATER'), 'notice', jsonb_build_object('type', 'test')))`;
    await database.sql`select pg_notify(${OUTBOX_CHANNEL}, '')`;

    // The slow row is never released before these waits end, so a dispatcher that waited for it
    // would fail them however long they wait.
    await eventually(async () => (delivered.includes('ULATER') ? true : undefined));
    // Its row is marked delivered just after the call returns. The slow one's stays owed.
    await eventually(async () => ((await countUndelivered()) === 1 ? true : undefined));
    expect(delivered).toHaveLength(2);
    releaseSlow();
    await eventually(async () => ((await countUndelivered()) === 0 ? true : undefined));
  });

  it('caps deliveries in flight under a trickle', async () => {
    let inFlight = 0;
    let peak = 0;
    const delivered: number[] = [];
    // Each delivery takes over a second, like a slow Slack, while small commits keep arriving.
    await startDispatcher(async (delivery) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      inFlight -= 1;
      delivered.push(delivery.id);
    });
    for (let commit = 0; commit < TRICKLE_COMMITS; commit++) {
      await insertNotices(TRICKLE_ROWS_PER_COMMIT);
      await database.sql`select pg_notify(${OUTBOX_CHANNEL}, '')`;
      await new Promise((resolve) => setTimeout(resolve, TRICKLE_GAP_MS));
    }

    const total = TRICKLE_COMMITS * TRICKLE_ROWS_PER_COMMIT;
    await eventually(async () => ((await countUndelivered()) === 0 ? true : undefined));
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(delivered).toHaveLength(total);
    expect(new Set(delivered).size).toBe(total);
  });

  it('marks more ids than the parameter limit', async () => {
    await insertNotices(MARKED_AT_ONCE);
    const ids = (await database.sql<{ id: string }[]>`select id from outbox`).map((row) => Number(row.id));
    const marks = new DeliveredMarks(database.db, createLogger('silent'));

    // The first mark starts a statement of its own; the rest wait for it and go together.
    await Promise.all(ids.map((id) => marks.mark(id)));

    expect(ids).toHaveLength(MARKED_AT_ONCE);
    expect(await countUndelivered()).toBe(0);
  });
});

async function startDispatcher(deliver: (delivery: OutboxDelivery) => Promise<void>): Promise<void> {
  dispatcher = new OutboxDispatcher({ db: database.db, sql: database.sql, deliver, logger: createLogger('silent') });
  await dispatcher.start();
}

async function insertNotices(count: number): Promise<void> {
  await database.sql`
    insert into outbox (kind, payload)
    select 'notice', jsonb_build_object('to', jsonb_build_object('userId', 'UNOTICE' || n),
      'notice', jsonb_build_object('type', 'test'))
    from generate_series(1, ${count}) as n`;
}

async function countUndelivered(): Promise<number> {
  const [row] = await database.sql<{ count: number }[]>`select count(*)::int as count from outbox where delivered_at is null`;
  return row?.count ?? 0;
}
