import type postgres from 'postgres';
import { OUTBOX_CHANNEL } from '../services/outbox.js';

/**
 * Calls `wake` when a transaction that wrote outbox rows commits (NOTIFY on OUTBOX_CHANNEL), and
 * every `pollIntervalMs` as a fallback for a NOTIFY missed while the listener was away or sent by
 * another process's connection before this one listened.
 */
export class OutboxWakeups {
  private pollTimer: NodeJS.Timeout | undefined;
  private listener: postgres.ListenMeta | undefined;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly pollIntervalMs: number,
    private readonly wake: () => void,
  ) {}

  /** Starts polling and listening. */
  async start(): Promise<void> {
    this.pollTimer = setInterval(this.wake, this.pollIntervalMs);
    this.pollTimer.unref();
    // postgres.js re-subscribes after a lost connection and calls the third argument each time,
    // so rows committed while the listener was away are picked up at once.
    this.listener = await this.sql.listen(OUTBOX_CHANNEL, this.wake, this.wake);
  }

  /** Stops polling and listening. */
  async stop(): Promise<void> {
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    await this.listener?.unlisten().catch(() => undefined);
  }
}
