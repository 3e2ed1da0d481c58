import { and, isNotNull, lt, sql } from 'drizzle-orm';
import { outbox } from '../../db/schema.js';
import type { Executor, Transaction } from '../../db/client.js';
import type { Notice, NoticeRecipient } from './notices.js';

/** Postgres channel the dispatcher listens on, so delivery starts right after a commit. */
export const OUTBOX_CHANNEL = 'pim_outbox';

/** Work the outbox carries from a committed change to Slack or to BullMQ. */
export type OutboxItem =
  | { kind: 'notice'; payload: { to: NoticeRecipient; notice: Notice } }
  | { kind: 'expire_activation'; payload: { activationId: string; endsAt: string } };

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
  return (await countOutbox(db)).backlog;
}

/** Counts outbox rows still owed (`backlog`) and rows given up on (`failed`). */
export async function countOutbox(db: Executor): Promise<{ backlog: number; failed: number }> {
  const rows = await db.execute<{ backlog: number; failed: number }>(sql`
    select count(*) filter (where delivered_at is null and failed_at is null)::int as backlog,
      count(*) filter (where failed_at is not null)::int as failed
    from ${outbox}`);
  return { backlog: rows[0]?.backlog ?? 0, failed: rows[0]?.failed ?? 0 };
}

/** Deletes rows delivered before `before`; rows still owed or failed are kept. */
export async function purgeDeliveredOutbox(db: Executor, before: Date): Promise<void> {
  await db.delete(outbox).where(and(isNotNull(outbox.deliveredAt), lt(outbox.deliveredAt, before)));
}
