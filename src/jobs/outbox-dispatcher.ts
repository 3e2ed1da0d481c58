import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Database } from '../../db/client.js';
import { PermanentDeliveryError, RetryableDeliveryError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { runWithLogFields } from '../request-context.js';
import { withTimeout } from '../timeout.js';
import type { DispatchedItem } from '../services/outbox.js';
import { OutboxWakeups } from './outbox-wakeups.js';
import { DeliveredMarks } from './delivered-marks.js';
import { RepeatedFailureLog } from './repeated-failure-log.js';

/** Rows claimed per round trip. */
const CLAIM_BATCH_SIZE = 50;
/**
 * Rows being delivered at once. The dispatcher claims the next batch as soon as a batch's worth
 * of room frees up, so one slow call does not hold back the rows claimed with it.
 */
export const MAX_IN_FLIGHT = 2 * CLAIM_BATCH_SIZE;
/**
 * Rows sent and not yet marked delivered, beyond which no rows are claimed. A row's slot in
 * MAX_IN_FLIGHT frees up when Slack responds, so a busy Postgres slows the marks but not the
 * sends. This bound limits how many messages a crash would send twice.
 */
export const MAX_AWAITING_MARK = 2 * MAX_IN_FLIGHT;
/**
 * Maximum wait for the rows in hand before rows written meanwhile are claimed. Claiming after
 * the rows in hand groups a burst into few claims, but a hung call would delay every row written
 * during it.
 */
const DELIVERY_WAIT_SLICE_MS = 200;
/**
 * A delivery that takes longer than this counts as failed (outcome unknown) and is retried.
 * The Slack client's own time-out is shorter, so this only catches a hung Redis or Postgres.
 */
export const DELIVERY_TIMEOUT_MS = 20_000;
/**
 * A claimed row whose process died is taken over after this long. It must exceed
 * DELIVERY_TIMEOUT_MS, so a live process never has a row taken from it mid-delivery.
 */
const CLAIM_LEASE_SECONDS = 30;
/** Fallback poll for rows whose NOTIFY was missed (listener reconnecting, another process). */
const POLL_INTERVAL_MS = 2_000;
/** Retry delays double from the first to the cap; after the last attempt the row is failed. */
const FIRST_RETRY_DELAY_MS = 1_000;
const MAX_RETRY_DELAY_MS = 10 * 60_000;
/** About 2.6 hours of retries with the delays above. Rate-limited attempts do not count. */
const MAX_ATTEMPTS = 25;

/** One claimed outbox row. */
export interface OutboxDelivery {
  id: number;
  attempts: number;
  item: DispatchedItem;
}

/**
 * Sends one outbox row. Throws `PermanentDeliveryError` when retrying cannot help and
 * `RetryableDeliveryError` (optionally with `retryAfterMs`) or any other error to retry later.
 */
export type Deliver = (delivery: OutboxDelivery) => Promise<void>;

/**
 * Delivers outbox rows after their transactions commit. Wakes on NOTIFY and polls as a
 * fallback. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several processes share the work
 * and one of them at a time sends each row. The claim increments `attempts` and sets a lease in
 * the same statement, so every attempt is on record before it is made. Home tab refreshes are
 * not claimed here: the HomeRefresher serves them, so they never delay DMs and expiries.
 */
export class OutboxDispatcher {
  private readonly db: Database;
  private readonly deliver: Deliver;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly drainFailures: RepeatedFailureLog;
  private readonly deliveredMarks: DeliveredMarks;
  private readonly wakeups: OutboxWakeups;
  private draining: Promise<void> | undefined;
  private drainAgain = false;
  private stopped = false;

  constructor(options: { db: Database; sql: postgres.Sql; deliver: Deliver; logger: Logger; metrics?: Metrics }) {
    this.db = options.db;
    this.deliver = options.deliver;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.drainFailures = new RepeatedFailureLog(this.logger, 'outbox drain');
    this.deliveredMarks = new DeliveredMarks(this.db, this.logger);
    this.wakeups = new OutboxWakeups(options.sql, POLL_INTERVAL_MS, () => this.kick());
  }

  /** Starts polling and listening, and drains what is already waiting. */
  async start(): Promise<void> {
    await this.wakeups.start();
    this.kick();
  }

  /** Requests a drain; concurrent requests collapse into one more pass. */
  kick(): void {
    if (this.stopped) return;
    if (this.draining !== undefined) {
      this.drainAgain = true;
      return;
    }
    this.draining = this.drainLoop().finally(() => {
      this.draining = undefined;
    });
  }

  /** Stops taking new rows and waits for the rows in hand. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.deliveredMarks.stop();
    await this.wakeups.stop();
    await this.draining;
    await this.deliveredMarks.settled();
  }

  private async drainLoop(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    try {
      do {
        this.drainAgain = false;
        while (!this.stopped) {
          // Checked before every claim, also when a NOTIFY restarts the drain, so that no more
          // than MAX_IN_FLIGHT rows are ever being delivered.
          while (inFlight.size > MAX_IN_FLIGHT - CLAIM_BATCH_SIZE) await Promise.race(inFlight);
          while (this.deliveredMarks.pending > MAX_AWAITING_MARK) await this.deliveredMarks.settled();
          // `stop` may have come during those waits, and a row claimed now would be sent during shutdown.
          if (this.stopped) break;
          const claimed = await this.claim();
          this.drainFailures.recovered();
          for (const delivery of claimed) {
            const delivering: Promise<void> = this.deliverOne(delivery).finally(() => inFlight.delete(delivering));
            inFlight.add(delivering);
          }
          // A short batch took every ready row that no other process holds, so claiming again at
          // once would come back empty. Rows committed since send a NOTIFY, which sets `drainAgain`.
          if (claimed.length < CLAIM_BATCH_SIZE) break;
        }
        // Rows written meanwhile are claimed after the rows in hand, or after a pause when one of
        // those hangs, so a slow Slack call delays them by DELIVERY_WAIT_SLICE_MS at most.
        while (inFlight.size > 0 && !this.drainAgain && !this.stopped) await waitForAll(inFlight, DELIVERY_WAIT_SLICE_MS);
      } while (this.drainAgain && !this.stopped);
      await Promise.all(inFlight);
    } catch (error) {
      this.drainFailures.failed(error, 'outbox drain failed; retrying on the next poll');
      // Rows in hand, and their marks, finish before the drain ends, so `stop` waits for them. A
      // failed claim means Postgres is away, and a claim made before the marks' next retry would
      // take back a sent row whose lease ran out and send it again.
      await Promise.allSettled(inFlight);
      await this.deliveredMarks.settled();
    }
  }

  // Home tab refreshes are left to the HomeRefresher, which serves them in grouped passes.
  private async claim(): Promise<OutboxDelivery[]> {
    const rows = await this.db.execute<{ id: string; attempts: number; kind: string; payload: unknown }>(sql`
      update outbox set attempts = attempts + 1,
        locked_until = now() + make_interval(secs => ${CLAIM_LEASE_SECONDS})
      where id in (
        select id from outbox
        where kind <> 'home_refresh' and delivered_at is null and failed_at is null
          and available_at <= now() and (locked_until is null or locked_until < now())
        order by id
        limit ${CLAIM_BATCH_SIZE}
        for update skip locked)
      returning id, attempts, kind, payload`);
    // RETURNING follows the table's physical order; oldest first keeps related messages in order.
    return rows
      .map((row) => ({ id: Number(row.id), attempts: row.attempts, item: { kind: row.kind, payload: row.payload } as DispatchedItem }))
      .sort((a, b) => a.id - b.id);
  }

  private async deliverOne(delivery: OutboxDelivery): Promise<void> {
    const fields = { outboxId: delivery.id, outboxKind: delivery.item.kind, attempt: delivery.attempts };
    // The logger's mixin adds these fields to every line written in this scope, so no child
    // logger is built per row. Building one made a catch-up's DMs about 4 % slower.
    await runWithLogFields(fields, async () => {
      try {
        await withTimeout(this.deliver(delivery), DELIVERY_TIMEOUT_MS, 'delivery');
      } catch (error) {
        await this.recordFailure(delivery, error);
        return;
      }
      // The slot frees up now, and `stop` waits for the mark.
      void this.deliveredMarks.mark(delivery.id);
      this.metrics?.outboxDeliveries.inc({ kind: delivery.item.kind, outcome: 'delivered' });
      this.logger.debug('outbox row delivered');
    });
  }

  private async recordFailure(delivery: OutboxDelivery, error: unknown): Promise<void> {
    const kind = delivery.item.kind;
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof PermanentDeliveryError || error instanceof RetryableDeliveryError ? error.code : undefined;
    const rateLimited = error instanceof RetryableDeliveryError && error.retryAfterMs !== undefined;
    const permanent = error instanceof PermanentDeliveryError || (!rateLimited && delivery.attempts >= MAX_ATTEMPTS);
    const lastError = code === undefined ? message : `${code}: ${message}`;
    if (permanent) {
      this.metrics?.outboxDeliveries.inc({ kind, outcome: 'failed' });
      this.logger.error({ err: error, code }, 'outbox delivery failed permanently; someone must look at it');
      await this.db.execute(
        sql`update outbox set failed_at = now(), locked_until = null, last_error = ${lastError} where id = ${delivery.id}`,
      );
      return;
    }
    this.metrics?.outboxDeliveries.inc({ kind, outcome: 'retry' });
    // A rate-limited attempt waits exactly as long as Slack asked and is not counted, so a long
    // stretch of rate limiting delays messages without using up their attempts.
    const retryDelayMs = rateLimited
      ? (error.retryAfterMs ?? FIRST_RETRY_DELAY_MS)
      : Math.min(FIRST_RETRY_DELAY_MS * 2 ** (delivery.attempts - 1), MAX_RETRY_DELAY_MS);
    this.logger.warn({ err: error, code, retryDelayMs }, 'outbox delivery failed; will retry');
    await this.db.execute(sql`
      update outbox set locked_until = null, last_error = ${lastError},
        attempts = attempts - ${rateLimited ? 1 : 0},
        available_at = now() + make_interval(secs => ${retryDelayMs / 1000})
      where id = ${delivery.id}`);
  }
}

/**
 * Waits until every promise in `pending` resolves or `timeoutMs` passes. Rejects as soon as one of
 * them rejects, as `Promise.all` does.
 */
async function waitForAll(pending: Iterable<Promise<void>>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await Promise.race([Promise.all(pending), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
