import { sql } from 'drizzle-orm';
import { outbox } from '../../db/schema.js';
import type { Executor, Transaction } from '../../db/client.js';
import type { Notice, NoticeRecipient } from './notices.js';

/** Postgres channel the dispatcher listens on, so delivery starts right after a commit. */
export const OUTBOX_CHANNEL = 'pim_outbox';

/** Work the outbox carries from a committed change to Slack or to BullMQ. */
export type OutboxItem =
  | { kind: 'notice'; payload: { to: NoticeRecipient; notice: Notice } }
  | { kind: 'expire_activation'; payload: { activationId: string; endsAt: string } }
  /** The approval DM with buttons; rendered from the request's current state at delivery. */
  | { kind: 'approval_request'; payload: { activationId: string; approverId: string } }
  /** Rewrites every approver's DM of a decided request to show the outcome, without buttons. */
  | { kind: 'approval_update'; payload: { activationId: string } }
  /** Schedules a request's next reminder or its timeout. */
  | { kind: 'request_timer'; payload: { activationId: string; timer: 'remind' | 'timeout'; at: string; sequence: number } };

/**
 * Writes owed side effects in the caller's transaction, and wakes the dispatcher when that
 * transaction commits (Postgres delivers NOTIFY only on commit, and drops it on rollback).
 */
export async function enqueueOutbox(tx: Transaction, items: OutboxItem[]): Promise<void> {
  if (items.length === 0) return;
  await tx.insert(outbox).values(items.map((item) => ({ kind: item.kind, payload: item.payload })));
  await tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
}

/** Counts outbox rows not yet delivered or given up on. */
export async function countOutboxBacklog(db: Executor): Promise<number> {
  const rows = await db.execute<{ count: string }>(
    sql`select count(*)::text as count from ${outbox} where delivered_at is null and failed_at is null`,
  );
  return Number(rows[0]?.count ?? 0);
}
