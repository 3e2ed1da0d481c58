import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Database } from '../../db/client.js';
import { PermanentDeliveryError } from '../errors.js';
import type { Logger } from '../logger.js';
import { OUTBOX_CHANNEL, type OutboxItem } from '../services/outbox.js';

/** Rows claimed per round trip. */
const CLAIM_BATCH_SIZE = 50;
/** A claimed row whose process died is taken over after this long. */
const CLAIM_LEASE_SECONDS = 60;
/** Fallback poll for rows whose NOTIFY was missed (listener reconnecting, another process). */
const POLL_INTERVAL_MS = 2_000;
/** Retry delays double from the first to the cap; after the last attempt the row is failed. */
const FIRST_RETRY_DELAY_MS = 1_000;
const MAX_RETRY_DELAY_MS = 10 * 60_000;
const MAX_ATTEMPTS = 25;

/** One claimed outbox row. */
export interface OutboxDelivery {
  id: number;
  attempts: number;
  item: OutboxItem;
}

/** Sends one outbox row; throws `PermanentDeliveryError` when retrying cannot help. */
export type Deliver = (delivery: OutboxDelivery) => Promise<void>;

/**
 * Delivers outbox rows after their transactions commit. Wakes on NOTIFY and polls as a
 * fallback. Rows are claimed with `FOR UPDATE SKIP LOCKED` and a lease, so several processes
 * share the work and each row is sent by one of them.
 */
export class OutboxDispatcher {
  private readonly db: Database;
  private readonly sql: postgres.Sql;
  private readonly deliver: Deliver;
  private readonly logger: Logger;
  private pollTimer: NodeJS.Timeout | undefined;
  private listener: postgres.ListenMeta | undefined;
  private draining: Promise<void> | undefined;
  private drainAgain = false;
  private stopped = false;

  constructor(options: { db: Database; sql: postgres.Sql; deliver: Deliver; logger: Logger }) {
    this.db = options.db;
    this.sql = options.sql;
    this.deliver = options.deliver;
    this.logger = options.logger;
  }

  /** Starts listening and polling, and drains what is already waiting. */
  async start(): Promise<void> {
    this.listener = await this.sql.listen(OUTBOX_CHANNEL, () => this.kick());
    this.pollTimer = setInterval(() => this.kick(), POLL_INTERVAL_MS);
    this.pollTimer.unref();
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

  /** Stops taking new work and waits for the rows in hand. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    await this.listener?.unlisten().catch(() => undefined);
    await this.draining;
  }

  private async drainLoop(): Promise<void> {
    do {
      this.drainAgain = false;
      try {
        while (!this.stopped) {
          const claimed = await this.claim();
          if (claimed.length === 0) break;
          await Promise.all(claimed.map((delivery) => this.deliverOne(delivery)));
        }
      } catch (error) {
        this.logger.error({ err: error }, 'outbox drain failed; retrying on the next poll');
        return;
      }
    } while (this.drainAgain && !this.stopped);
  }

  private async claim(): Promise<OutboxDelivery[]> {
    const rows = await this.db.execute<{ id: string; attempts: number; kind: string; payload: unknown }>(sql`
      update outbox set attempts = attempts + 1,
        locked_until = now() + make_interval(secs => ${CLAIM_LEASE_SECONDS})
      where id in (
        select id from outbox
        where delivered_at is null and failed_at is null and available_at <= now()
          and (locked_until is null or locked_until < now())
        order by id
        limit ${CLAIM_BATCH_SIZE}
        for update skip locked)
      returning id, attempts, kind, payload`);
    return rows.map((row) => ({
      id: Number(row.id),
      attempts: row.attempts,
      item: { kind: row.kind, payload: row.payload } as OutboxItem,
    }));
  }

  private async deliverOne(delivery: OutboxDelivery): Promise<void> {
    const log = this.logger.child({ outboxId: delivery.id, kind: delivery.item.kind, attempt: delivery.attempts });
    try {
      await this.deliver(delivery);
      await this.db.execute(sql`update outbox set delivered_at = now(), locked_until = null where id = ${delivery.id}`);
    } catch (error) {
      const permanent = error instanceof PermanentDeliveryError || delivery.attempts >= MAX_ATTEMPTS;
      const message = error instanceof Error ? error.message : String(error);
      if (permanent) {
        log.error({ err: error }, 'outbox delivery failed permanently; someone must look at it');
        await this.db.execute(
          sql`update outbox set failed_at = now(), locked_until = null, last_error = ${message} where id = ${delivery.id}`,
        );
        return;
      }
      const retryDelayMs = Math.min(FIRST_RETRY_DELAY_MS * 2 ** (delivery.attempts - 1), MAX_RETRY_DELAY_MS);
      log.warn({ err: error, retryDelayMs }, 'outbox delivery failed; will retry');
      await this.db.execute(sql`
        update outbox set locked_until = null, last_error = ${message},
          available_at = now() + make_interval(secs => ${retryDelayMs / 1000})
        where id = ${delivery.id}`);
    }
  }
}
