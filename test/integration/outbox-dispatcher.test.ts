import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, ensureDatabaseExists, runMigrations, type DatabaseHandle } from '../../db/client.js';
import { DeliveredMarks } from '../../src/jobs/delivered-marks.js';
import { MAX_AWAITING_MARK, MAX_IN_FLIGHT, OutboxDispatcher, type OutboxDelivery } from '../../src/jobs/outbox-dispatcher.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { OUTBOX_CHANNEL } from '../../src/services/outbox.js';
import { createTestEnvironment, eventually, type TestEnvironment } from '../support/harness.js';
import { captureLog } from '../support/log-capture.js';

// More rows than one claim takes, so the tests see several claims.
const BURST_ROWS = 250;
// Commits smaller than one claim, each with its NOTIFY and far enough apart to be claimed on
// their own, that together exceed the dispatcher's in-flight cap.
const TRICKLE_COMMITS = 6;
const TRICKLE_ROWS_PER_COMMIT = 45;
const TRICKLE_GAP_MS = 250;
// Rows written while marks are held up, more than the dispatcher sends before it waits for them.
const ROWS_WHILE_MARKS_WAIT = 1_000;
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

  it('sends on while marks wait', async () => {
    const heldMark = await holdMarksOfFirstRow();
    const delivered: number[] = [];
    await startDispatcher(async (delivery) => {
      await heldMark.locked;
      delivered.push(delivery.id);
    });
    try {
      await heldMark.markWaiting();
      await insertNotices(ROWS_WHILE_MARKS_WAIT);
      await database.sql`select pg_notify(${OUTBOX_CHANNEL}, '')`;

      // Marks wait behind the first row's, so a dispatcher that heldMark each row's slot until its
      // mark would stop at MAX_IN_FLIGHT rows.
      await eventually(async () => (delivered.length > MAX_AWAITING_MARK ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(delivered.length).toBeLessThanOrEqual(MAX_AWAITING_MARK + MAX_IN_FLIGHT + 1);
      expect(await countUndelivered()).toBe(ROWS_WHILE_MARKS_WAIT + 1);
    } finally {
      heldMark.release();
    }
    await eventually(async () => ((await countUndelivered()) === 0 ? true : undefined));
    expect(new Set(delivered).size).toBe(ROWS_WHILE_MARKS_WAIT + 1);
  });

  it('stop waits for pending marks', async () => {
    const heldMark = await holdMarksOfFirstRow();
    await startDispatcher(async () => {
      await heldMark.locked;
    });
    let stopped = false;
    let stopping: Promise<unknown> | undefined;
    try {
      await heldMark.markWaiting();
      stopping = dispatcher?.stop().then(() => (stopped = true));
      dispatcher = undefined;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(stopped).toBe(false);
    } finally {
      heldMark.release();
    }
    await stopping;
    expect(await countUndelivered()).toBe(0);
  });

  it('claims nothing after stop', async () => {
    const heldMark = await holdMarksOfFirstRow();
    let delivered = 0;
    await startDispatcher(async () => {
      await heldMark.locked;
      delivered += 1;
    });
    let stopping: Promise<void> | undefined;
    let claimedAtStop = 0;
    try {
      await heldMark.markWaiting();
      await insertNotices(ROWS_WHILE_MARKS_WAIT);
      await database.sql`select pg_notify(${OUTBOX_CHANNEL}, '')`;
      // Past MAX_AWAITING_MARK the drain waits for the held marks before its next claim.
      await eventually(async () => (delivered > MAX_AWAITING_MARK ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 300));
      claimedAtStop = await countClaimed();
      stopping = dispatcher?.stop();
      dispatcher = undefined;
    } finally {
      heldMark.release();
    }
    await stopping;

    expect(await countClaimed()).toBe(claimedAtStop);
  });

  it('waits for marks after an outage', async () => {
    const outage = await simulateOutage();
    const log = captureLog('debug');
    const deliveredIds: number[] = [];
    try {
      await insertNotices(1);
      const [first] = await database.sql<{ id: string }[]>`select id from outbox`;
      const firstId = Number(first?.id);
      await outage.set('marks');
      await startDispatcher(async (delivery) => {
        deliveredIds.push(delivery.id);
      }, log.logger);
      await eventually(async () => (log.find('could not mark the outbox rows delivered').length > 0 ? true : undefined));

      // Postgres goes away: the next claim fails too.
      await outage.set('all');
      await insertNotices(1);
      await database.sql`select pg_notify(${OUTBOX_CHANNEL}, '')`;
      await eventually(async () => (log.find('outbox drain failed').length > 0 ? true : undefined));
      // The outage outlasts the first row's lease.
      await outage.expireLease(firstId);

      // Postgres is back, and a claim (the listener's reconnect) runs before the mark's next retry.
      await outage.set('marks');
      await database.sql`select pg_notify(${OUTBOX_CHANNEL}, '')`;
      await new Promise((resolve) => setTimeout(resolve, 500));
      await outage.set('none');
      await database.sql`select pg_notify(${OUTBOX_CHANNEL}, '')`;

      await eventually(async () => ((await countUndelivered()) === 0 ? true : undefined));
      expect(deliveredIds.filter((id) => id === firstId)).toHaveLength(1);
      expect(deliveredIds).toHaveLength(2);
    } finally {
      await dispatcher?.stop();
      dispatcher = undefined;
      await outage.remove();
    }
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

async function startDispatcher(
  deliver: (delivery: OutboxDelivery) => Promise<void>,
  logger: Logger = createLogger('silent'),
): Promise<void> {
  dispatcher = new OutboxDispatcher({ db: database.db, sql: database.sql, deliver, logger });
  await dispatcher.start();
}

type OutageMode = 'none' | 'marks' | 'all';

/**
 * Simulates a Postgres outage with a trigger. In mode `all` every UPDATE of an outbox row fails,
 * as claims and marks do while Postgres is down. In mode `marks` only marking rows delivered
 * fails, as if Postgres had returned but a mark's next retry had not run yet.
 */
async function simulateOutage(): Promise<{
  set: (mode: OutageMode) => Promise<void>;
  expireLease: (id: number) => Promise<void>;
  remove: () => Promise<void>;
}> {
  await database.sql`create table outage (mode text not null)`;
  await database.sql`insert into outage (mode) values ('none')`;
  await database.sql.unsafe(`
    create function fail_in_outage() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from outage where mode = 'all')
        or (new.delivered_at is not null and exists (select 1 from outage where mode = 'marks')) then
        raise exception 'simulated outage';
      end if;
      return new;
    end $$`);
  await database.sql`create trigger fail_in_outage before update on outbox for each row execute function fail_in_outage()`;
  return {
    set: async (mode) => {
      await database.sql`update outage set mode = ${mode}`;
    },
    // Ends a claimed row's lease as if 30 seconds had passed, without leaving mode `all` for others.
    expireLease: async (id) => {
      await database.sql.begin(async (tx) => {
        await tx`update outage set mode = 'none'`;
        await tx`update outbox set locked_until = now() - interval '1 second' where id = ${id}`;
        await tx`update outage set mode = 'all'`;
      });
    },
    remove: async () => {
      await database.sql`drop trigger fail_in_outage on outbox`;
      await database.sql`drop function fail_in_outage()`;
      await database.sql`drop table outage`;
    },
  };
}

/**
 * Inserts one row and, once the dispatcher has claimed it, locks it in a transaction of the
 * test's own, so that the UPDATE marking it delivered waits until `release`. Deliveries must
 * wait for `locked`, or the row could be marked before the lock is taken.
 */
async function holdMarksOfFirstRow(): Promise<{ locked: Promise<void>; markWaiting: () => Promise<void>; release: () => void }> {
  await insertNotices(1);
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked = (): void => undefined;
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const holding = database.sql.begin(async (tx) => {
    // The claim sets `attempts`; the row is locked only after the claim committed.
    await eventually(async () => ((await tx`select id from outbox where attempts > 0`).length === 1 ? true : undefined));
    await tx`select id from outbox for update`;
    locked();
    await released;
  });
  const markWaiting = async () => {
    await lockTaken;
    // The mark's UPDATE shows in pg_stat_activity, waiting for the test's lock.
    await eventually(async () => {
      const waiting = await database.sql`
        select 1 from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query like '%update outbox set delivered_at%'`;
      return waiting.length === 1 ? true : undefined;
    });
  };
  return {
    locked: lockTaken,
    markWaiting,
    release: () => {
      release();
      void holding;
    },
  };
}

async function insertNotices(count: number): Promise<void> {
  await database.sql`
    insert into outbox (kind, payload)
    select 'notice', jsonb_build_object('to', jsonb_build_object('userId', 'UNOTICE' || n),
      'notice', jsonb_build_object('type', 'test'))
    from generate_series(1, ${count}) as n`;
}

async function countClaimed(): Promise<number> {
  const [row] = await database.sql<{ count: number }[]>`select count(*)::int as count from outbox where attempts > 0`;
  return row?.count ?? 0;
}

async function countUndelivered(): Promise<number> {
  const [row] = await database.sql<{ count: number }[]>`select count(*)::int as count from outbox where delivered_at is null`;
  return row?.count ?? 0;
}
