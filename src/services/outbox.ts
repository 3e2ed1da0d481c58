import { and, isNotNull, lt, sql } from 'drizzle-orm';
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
  | { kind: 'request_timer'; payload: { activationId: string; timer: 'remind' | 'timeout'; at: string; sequence: number } }
  /** Schedules an assignment's next end notice or its expiry; `endsAt` tells a stale job from the current one. */
  | { kind: 'assignment_timer'; payload: { assignmentId: string; timer: 'notice' | 'expire'; at: string; endsAt: string; sequence: number } }
  /** Publishes the user's Home tab, built from the database when it is delivered. */
  | { kind: 'home_refresh'; payload: { userId: string } };

/**
 * Writes owed side effects in the caller's transaction, and wakes the dispatcher when that
 * transaction commits (Postgres delivers NOTIFY only on commit, and drops it on rollback).
 */
export async function enqueueOutbox(tx: Transaction, items: OutboxItem[]): Promise<void> {
  if (items.length === 0) return;
  const refreshUserIds = new Set<string>();
  const others: OutboxItem[] = [];
  for (const item of items) {
    if (item.kind === 'home_refresh') refreshUserIds.add(item.payload.userId);
    else others.push(item);
  }
  if (others.length > 0) {
    await tx.insert(outbox).values(others.map((item) => ({ kind: item.kind, payload: item.payload })));
  }
  await enqueueHomeRefreshes(tx, [...refreshUserIds]);
  await tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
}

/**
 * Adds a Home tab refresh for each user who has no refresh still waiting. A waiting row is
 * locked until this transaction ends, so the dispatcher (which claims with SKIP LOCKED) cannot
 * render it from data older than this commit; a row already claimed is skipped here, and a new
 * one is added. The Home view is read from the database at delivery, so one waiting row covers
 * every change committed before it is claimed.
 */
async function enqueueHomeRefreshes(tx: Transaction, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  const ids = sql.join(
    userIds.map((id) => sql`${id}`),
    sql`, `,
  );
  const values = sql.join(
    userIds.map((id) => sql`(${id})`),
    sql`, `,
  );
  await tx.execute(sql`
    with waiting as (
      select payload->>'userId' as user_id from outbox
      where kind = 'home_refresh' and delivered_at is null and failed_at is null
        and (locked_until is null or locked_until < now())
        and payload->>'userId' in (${ids})
      for update skip locked)
    insert into outbox (kind, payload)
    select 'home_refresh', jsonb_build_object('userId', wanted.user_id)
    from (values ${values}) as wanted(user_id)
    where wanted.user_id not in (select user_id from waiting)`);
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
