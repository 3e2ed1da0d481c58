import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import type { Logger } from '../logger.js';

/** Marking sent rows delivered is retried this often while Postgres is away, so they are not sent again. */
const MARK_DELIVERED_RETRY_MS = 500;

interface Waiter {
  id: number;
  done: () => void;
}

/**
 * Marks sent outbox rows delivered with group commit. A row sent while an UPDATE is running
 * waits for it and joins the next one. A burst costs one statement and one WAL flush per round
 * trip instead of one per row, and a lone row is still marked at once.
 */
export class DeliveredMarks {
  private readonly db: Database;
  private readonly logger: Logger;
  private waiting: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  private inUpdate = 0;
  private stopped = false;

  constructor(db: Database, logger: Logger) {
    this.db = db;
    this.logger = logger;
  }

  /** Resolves once the row is marked delivered (or, after `stop`, given up on with an error logged). */
  mark(id: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push({ id, done: resolve });
      this.flushing ??= this.flushAll();
    });
  }

  /** Rows sent and not yet marked. */
  get pending(): number {
    return this.waiting.length + this.inUpdate;
  }

  /** Resolves once every row passed to `mark` so far is marked or given up on. */
  async settled(): Promise<void> {
    await this.flushing;
  }

  /** Lets pending marks give up after a few more failures instead of retrying forever. */
  stop(): void {
    this.stopped = true;
  }

  // Clears `flushing` in the same step as the last look at `waiting`. A `.finally()` handler would
  // clear it a microtask later, and a row marked in between would join no flush.
  private async flushAll(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        this.inUpdate = batch.length;
        await this.flush(batch);
        this.inUpdate = 0;
        for (const waiter of batch) waiter.done();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  // Retries until it succeeds or the process stops: a row left unmarked is sent again once its
  // lease ends, so giving up early turns a Postgres blip into a duplicate message.
  private async flush(batch: Waiter[]): Promise<void> {
    const ids = batch.map((waiter) => waiter.id);
    // A burst marks thousands of rows at once. One array parameter keeps the statement the same
    // for any batch, cheap to build and clear of the 65,535-parameter limit.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.execute(sql`
          update outbox set delivered_at = now(), locked_until = null
          where id = any(${sql.param(ids)}::bigint[])`);
        return;
      } catch (error) {
        if (attempt === 1) {
          this.logger.error({ err: error, outboxIds: ids }, 'sent, but could not mark the outbox rows delivered; retrying');
        }
        if (this.stopped && attempt >= 3) {
          this.logger.error(
            { err: error, outboxIds: ids },
            'stopping with sent rows unmarked; they will be sent again after their lease',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, MARK_DELIVERED_RETRY_MS));
      }
    }
  }
}
