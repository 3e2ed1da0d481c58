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
  /**
   * Rewrites every approver's DM and the requester's "waiting for approval" DM of a closed
   * request to show the outcome, without buttons.
   */
  | { kind: 'approval_update'; payload: { activationId: string } }
  /** Schedules a request's next reminder or its timeout. */
  | { kind: 'request_timer'; payload: { activationId: string; timer: 'remind' | 'timeout'; at: string; sequence: number } }
  /** Schedules an assignment's next end notice or its expiry; `endsAt` tells a stale job from the current one. */
  | { kind: 'assignment_timer'; payload: { assignmentId: string; timer: 'notice' | 'expire'; at: string; endsAt: string; sequence: number } }
  /**
   * Publishes the Home tabs of these users and, with `administrators`, of every administrator,
   * built from the database when the refresher's pass runs.
   */
  | { kind: 'home_refresh'; payload: { userIds: string[]; administrators: boolean } };

/** Outbox rows the dispatcher delivers one by one; Home refreshes go to the Home refresher. */
export type DispatchedItem = Exclude<OutboxItem, { kind: 'home_refresh' }>;

/**
 * Writes owed side effects in the caller's transaction, and wakes the dispatcher when that
 * transaction commits (Postgres delivers NOTIFY only on commit, and drops it on rollback).
 * The change's Home tab refreshes become one row: the refresher reads the tabs from the
 * database when it publishes them, and one pass serves every row waiting by then.
 */
export async function enqueueOutbox(tx: Transaction, items: OutboxItem[]): Promise<void> {
  const rows = mergeHomeRefreshes(items);
  if (rows.length === 0) return;
  // One statement inserts the rows and queues the NOTIFY, so the change pays one round trip.
  const records = JSON.stringify(rows.map((item) => ({ kind: item.kind, payload: item.payload })));
  await tx.execute(sql`
    with inserted as (
      insert into ${outbox} (kind, payload)
      select kind, payload
      from rows from (jsonb_to_recordset(${records}::jsonb) as (kind text, payload jsonb)) with ordinality as r(kind, payload, n)
      order by n
      returning 1)
    select pg_notify(${OUTBOX_CHANNEL}, '') from (select count(*) from inserted) as done`);
}

function mergeHomeRefreshes(items: OutboxItem[]): OutboxItem[] {
  const userIds = new Set<string>();
  let administrators = false;
  let refreshes = 0;
  const others: OutboxItem[] = [];
  for (const item of items) {
    if (item.kind !== 'home_refresh') {
      others.push(item);
      continue;
    }
    refreshes += 1;
    for (const userId of item.payload.userIds) userIds.add(userId);
    administrators ||= item.payload.administrators;
  }
  if (refreshes === 0) return others;
  return [...others, { kind: 'home_refresh', payload: { userIds: [...userIds], administrators } }];
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
