import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import { activations, roles } from '../../db/schema.js';
import type { Executor, Transaction } from '../../db/client.js';
import { appendAudit, appendAuditBatch, SYSTEM_ACTOR, type AuditInput } from './audit.js';
import type { ServiceContext } from './context.js';
import { homeRefreshes } from './home-refresh.js';
import { enqueueOutbox, type OutboxItem } from './outbox.js';

type ActivationRow = typeof activations.$inferSelect;

// Audit action of an activation ended ahead of its end time, by cause.
const ENDING_ACTIONS = {
  deactivated: 'activation.deactivated',
  eligibility_removed: 'activation.ended_by_removal',
  assignment_expired: 'activation.ended_by_assignment_expiry',
} as const;

/** The cause recorded when an activation ends. */
export type EndReason = 'expired' | 'deactivated' | 'eligibility_removed' | 'assignment_expired';

/** The result of a request to end an activation. */
export type EndOutcome =
  | { outcome: 'ended'; activation: ActivationRow }
  /** Still active with its end in the future: the caller fired early and should retry then. */
  | { outcome: 'not_due'; endsAt: Date }
  /** Already ended, by this caller's twin (job and sweep, two workers) or by the user. */
  | { outcome: 'already_ended' }
  | { outcome: 'not_found' };

/**
 * Ends an activation whose end time has passed. Safe to call any number of times from any
 * number of processes: the conditional update lets exactly one caller move it from `active`
 * to `expired`, and only that caller writes the audit event and the message.
 */
export async function expireActivation(context: ServiceContext, activationId: string): Promise<EndOutcome> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const [ended] = await tx
      .update(activations)
      .set({ status: 'expired', endedAt: now, endedBy: SYSTEM_ACTOR })
      .where(and(eq(activations.id, activationId), eq(activations.status, 'active'), lte(activations.endsAt, now)))
      .returning();
    if (ended === undefined) {
      const [current] = await tx
        .select({ status: activations.status, endsAt: activations.endsAt })
        .from(activations)
        .where(eq(activations.id, activationId));
      if (current === undefined) return { outcome: 'not_found' };
      if (current.status === 'active') return { outcome: 'not_due', endsAt: current.endsAt };
      return { outcome: 'already_ended' };
    }
    const roleName = await readRoleName(tx, ended.roleId);
    await recordEnding(tx, ended, roleName, 'expired', SYSTEM_ACTOR, now);
    return { outcome: 'ended', activation: ended };
  });
}

/** Reads an activation's status and end time outside any transaction; `undefined` when it does not exist. */
export async function readActivationState(
  db: Executor,
  activationId: string,
): Promise<{ status: string; endsAt: Date } | undefined> {
  const [row] = await db
    .select({ status: activations.status, endsAt: activations.endsAt })
    .from(activations)
    .where(eq(activations.id, activationId));
  return row;
}

/**
 * Returns whether an active activation's end time has passed, whether or not another
 * transaction has locked its row. Reads without locking.
 */
export async function hasOverdueActivations(db: Executor, now: Date): Promise<boolean> {
  const [row] = await db
    .select({ id: activations.id })
    .from(activations)
    .where(and(eq(activations.status, 'active'), lte(activations.endsAt, now)))
    .limit(1);
  return row !== undefined;
}

/** Overdue activations ended per transaction by the expiry worker and the sweep. */
export const EXPIRY_BATCH_SIZE = 500;

/**
 * Ends up to `limit` overdue activations in one transaction: one chain lock, one outbox insert
 * and one commit for the batch, which is what lets a burst of simultaneous end times drain
 * quickly. Rows another caller is ending are skipped (`SKIP LOCKED`), so concurrent batches
 * take disjoint sets, and each row still moves from `active` to `expired` exactly once.
 */
export async function expireDueActivations(context: ServiceContext, limit: number): Promise<ActivationRow[]> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const due = tx
      .select({ id: activations.id })
      .from(activations)
      .where(and(eq(activations.status, 'active'), lte(activations.endsAt, now)))
      .orderBy(asc(activations.endsAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    const ended = await tx
      .update(activations)
      .set({ status: 'expired', endedAt: now, endedBy: SYSTEM_ACTOR })
      .where(and(inArray(activations.id, due), eq(activations.status, 'active')))
      .returning();
    if (ended.length === 0) return ended;

    const roleNames = await readRoleNames(tx, [...new Set(ended.map((row) => row.roleId))]);
    const endedInOrder = [...ended].sort((a, b) => a.endsAt.getTime() - b.endsAt.getTime());
    await enqueueOutbox(tx, [
      ...endedInOrder.map((row) =>
        endedNotice(row, roleNames.get(row.roleId) ?? row.roleId, 'expired', SYSTEM_ACTOR, now),
      ),
      ...homeRefreshes(endedInOrder.map((row) => row.userId), { administrators: true }),
    ]);
    await appendAuditBatch(tx, endedInOrder.map((row) => expiredAuditEvent(row, SYSTEM_ACTOR, now)));
    return endedInOrder;
  });
}

/** Parameters for ending a user's open activation of a role ahead of its end time. */
export interface CloseRequest {
  roleId: string;
  roleName: string;
  userId: string;
  now: Date;
  endedBy: string;
  reason: Exclude<EndReason, 'expired'>;
  /** Collects the notices; the caller enqueues them with its own. */
  outbox: OutboxItem[];
}

/**
 * Ends the user's active activation of a role inside the caller's transaction. Returns the
 * ended row, or `undefined` when nothing was active.
 */
export async function closeOpenActivation(
  tx: Transaction,
  request: CloseRequest,
): Promise<ActivationRow | undefined> {
  const [ended] = await tx
    .update(activations)
    .set({ status: 'deactivated', endedAt: request.now, endedBy: request.endedBy })
    .where(
      and(
        eq(activations.roleId, request.roleId),
        eq(activations.userId, request.userId),
        eq(activations.status, 'active'),
      ),
    )
    .returning();
  if (ended === undefined) return undefined;
  request.outbox.push(
    endedNotice(ended, request.roleName, request.reason, request.endedBy, request.now),
    ...homeRefreshes([ended.userId], { administrators: true }),
  );
  await appendAudit(tx, {
    occurredAt: request.now,
    actorId: request.endedBy,
    action: ENDING_ACTIONS[request.reason],
    targetType: 'activation',
    targetId: ended.id,
    roleId: ended.roleId,
    subjectUserId: ended.userId,
    before: { status: 'active', endsAt: ended.endsAt.toISOString() },
    after: { status: ended.status, endedAt: request.now.toISOString() },
  });
  return ended;
}

async function recordEnding(
  tx: Transaction,
  ended: ActivationRow,
  roleName: string,
  reason: EndReason,
  endedBy: string,
  now: Date,
): Promise<void> {
  await enqueueOutbox(tx, [
    endedNotice(ended, roleName, reason, endedBy, now),
    ...homeRefreshes([ended.userId], { administrators: true }),
  ]);
  await appendAudit(tx, expiredAuditEvent(ended, endedBy, now));
}

function expiredAuditEvent(ended: ActivationRow, endedBy: string, now: Date): AuditInput {
  return {
    occurredAt: now,
    actorId: endedBy,
    action: 'activation.expired',
    targetType: 'activation',
    targetId: ended.id,
    roleId: ended.roleId,
    subjectUserId: ended.userId,
    before: { status: 'active', endsAt: ended.endsAt.toISOString() },
    after: { status: ended.status, endedAt: now.toISOString() },
  };
}

function endedNotice(
  ended: ActivationRow,
  roleName: string,
  reason: EndReason,
  endedBy: string,
  now: Date,
): OutboxItem {
  return {
    kind: 'notice',
    payload: {
      to: { userId: ended.userId },
      notice: {
        type: 'activation_ended',
        activationId: ended.id,
        userId: ended.userId,
        roleName,
        reason,
        endedBy,
        endedAt: now.toISOString(),
      },
    },
  };
}

async function readRoleNames(tx: Transaction, roleIds: string[]): Promise<Map<string, string>> {
  // One array parameter keeps the statement the same for any number of roles, so each
  // connection prepares it once.
  const rows = await tx
    .select({ id: roles.id, name: roles.name })
    .from(roles)
    .where(sql`${roles.id} = any(${sql.param(roleIds)}::uuid[])`);
  return new Map(rows.map((row) => [row.id, row.name]));
}

async function readRoleName(tx: Transaction, roleId: string): Promise<string> {
  const [role] = await tx.select({ name: roles.name }).from(roles).where(eq(roles.id, roleId));
  return role?.name ?? roleId;
}
