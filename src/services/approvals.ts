import { and, desc, eq, gt, gte, inArray, lte, ne, or, sql } from 'drizzle-orm';
import { activations, approvalApprovers, approvalMessages, roles } from '../../db/schema.js';
import type { Executor, Transaction } from '../../db/client.js';
import { activationWindow, type ActivationCheck } from '../domain/activation.js';
import { nextReminderAt, selectApprovers } from '../domain/approval.js';
import { slackDateToken } from '../domain/dates.js';
import { UserError } from '../errors.js';
import { listActivePraIds, readAccess } from './access.js';
import {
  activationStartedItems,
  describeActivation,
  findAssignmentInForce,
  insertActivation,
  type ActivationRow,
} from './activation-records.js';
import { appendAudit, SYSTEM_ACTOR } from './audit.js';
import { listMembersOrNone, stillApprover, type GroupMembers } from './approver-membership.js';
import { SlackAccessError, SlackRateLimitedError, type ServiceContext } from './context.js';
import { homeRefreshes } from './home-refresh.js';
import { enqueueOutbox, type OutboxItem } from './outbox.js';
import { listRoles, toRole, type Role } from './roles.js';

/** How far back the approval message lists the requester's earlier activations of the role. */
export const RECENT_ACTIVATIONS_DAYS = 30;

/** A filed request with its role and the people who may decide it. */
export interface FiledRequest {
  activation: ActivationRow;
  role: Role;
  approverIds: string[];
}

/**
 * Files a pending request inside the caller's transaction: the row, its approvers, a DM to
 * each approver, a notice to the requester, the timeout and first reminder, and the audit event.
 * Rejects at once when nobody but the requester could approve it.
 */
export async function fileRequest(
  tx: Transaction,
  context: ServiceContext,
  input: {
    role: Role;
    assignmentId: string;
    userId: string;
    check: Extract<ActivationCheck, { ok: true }>;
    groupMembers: string[];
    now: Date;
  },
): Promise<FiledRequest> {
  const { role, now } = input;
  const named = role.settings.approvers;
  const approvers = selectApprovers({
    requesterId: input.userId,
    namedUsers: named.users,
    groupMembers: input.groupMembers,
    activePras: named.users.length + named.groups.length === 0 ? await listActivePraIds(tx, now) : [],
  });
  if (approvers.length === 0) {
    throw new UserError(
      'no_approvers',
      `${role.name} requires approval, but nobody other than you can approve it, so the request was not filed. Ask a Privileged Role Administrator to add approvers in \`/pim settings ${role.slug}\`.`,
      'role',
    );
  }

  const expiresAt = new Date(now.getTime() + role.settings.pendingTimeoutMinutes * 60_000);
  const firstReminder = nextReminderAt(now, 0, expiresAt);
  const activation = await insertActivation(tx, role, {
    assignmentId: input.assignmentId,
    // Approvers see the requested duration. Approval caps it at the end of eligibility.
    eligibleUntil: null,
    userId: input.userId,
    check: input.check,
    status: 'pending_approval',
    now,
    requestExpiresAt: expiresAt,
    nextReminderAt: firstReminder,
  });
  // Two array parameters keep the statement the same for any number of approvers, so each
  // connection prepares it once.
  await tx.execute(sql`
    insert into ${approvalApprovers} (activation_id, approver_id, source)
    select ${activation.id}, approver.id, approver.source
    from unnest(${sql.param(approvers.map((approver) => approver.userId))}::text[],
      ${sql.param(approvers.map((approver) => approver.source))}::text[]) as approver(id, source)`);

  const approverIds = approvers.map((approver) => approver.userId);
  const items: OutboxItem[] = approverIds.map((approverId) => ({
    kind: 'approval_request',
    payload: { activationId: activation.id, approverId },
  }));
  items.push(
    {
      kind: 'notice',
      payload: {
        to: { userId: input.userId },
        notice: {
          type: 'request_filed',
          activationId: activation.id,
          userId: input.userId,
          roleName: role.name,
          durationMinutes: activation.durationMinutes,
          approverIds,
          expiresAt: expiresAt.toISOString(),
        },
      },
    },
    {
      kind: 'request_timer',
      payload: { activationId: activation.id, timer: 'timeout', at: expiresAt.toISOString(), sequence: 0 },
    },
  );
  if (firstReminder !== null) {
    items.push({
      kind: 'request_timer',
      payload: { activationId: activation.id, timer: 'remind', at: firstReminder.toISOString(), sequence: 0 },
    });
  }
  items.push(...homeRefreshes([input.userId, ...approverIds]));
  await enqueueOutbox(tx, items);
  await appendAudit(tx, {
    occurredAt: now,
    actorId: input.userId,
    action: 'request.filed',
    targetType: 'activation',
    targetId: activation.id,
    roleId: role.id,
    subjectUserId: input.userId,
    reason: activation.justification,
    after: { ...describeActivation(activation), approvers, expiresAt: expiresAt.toISOString() },
  });
  return { activation, role, approverIds };
}

/**
 * Approves a pending request and starts the activation from now for its requested duration, or
 * until the requester's eligible assignment ends when that comes first. Only an approver of that request may approve, checked from the database; the first decision
 * wins, and a later one is rejected with who decided.
 */
export async function approveRequest(
  context: ServiceContext,
  request: { activationId: string; approverId: string },
): Promise<{ activation: ActivationRow; role: Role }> {
  return withApproverGroups(context, request, (groupMembers) => approveOnce(context, request, groupMembers));
}

async function approveOnce(
  context: ServiceContext,
  request: { activationId: string; approverId: string },
  groupMembers: GroupMembers | undefined,
): Promise<{ activation: ActivationRow; role: Role }> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const { pending, role } = await authorizeDecision(tx, request.activationId, request.approverId, now, groupMembers);
    requireDecidable(pending, request.approverId, now);
    // Locks the assignment until commit, so a removal that runs meanwhile waits and then ends
    // the activation this approval starts.
    const assignment = await findAssignmentInForce(tx, role.id, pending.userId, now);
    if (assignment === undefined) {
      throw new UserError(
        'not_eligible',
        `<@${pending.userId}> is no longer eligible for ${role.name}, so the request cannot be approved.`,
      );
    }

    const window = activationWindow(now, pending.durationMinutes, assignment.endsAt);
    // The update and the approvers' read go out in one round trip.
    const [[approved], approverIds] = await Promise.all([
      tx
        .update(activations)
        .set({
          status: 'active',
          startsAt: window.startsAt,
          endsAt: window.endsAt,
          durationMinutes: window.durationMinutes,
          decidedBy: request.approverId,
          decidedAt: now,
          nextReminderAt: null,
        })
        .where(and(eq(activations.id, pending.id), eq(activations.status, 'pending_approval'), gt(activations.requestExpiresAt, now)))
        .returning(),
      listApproverIds(tx, pending.id),
    ]);
    if (approved === undefined) throw notDecidable(await readActivation(tx, pending.id), request.approverId, now);

    // Sent in one round trip. Postgres runs the outbox insert first, so the chain lock is still
    // taken last.
    await Promise.all([
      enqueueOutbox(tx, [
        ...activationStartedItems(context, role, approved, request.approverId, assignment.endsAt),
        { kind: 'approval_update', payload: { activationId: approved.id } },
        ...homeRefreshes([approved.userId, ...approverIds], { administrators: true }),
      ]),
      appendAudit(tx, {
        occurredAt: now,
        actorId: request.approverId,
        action: 'request.approved',
        targetType: 'activation',
        targetId: approved.id,
        roleId: role.id,
        subjectUserId: approved.userId,
        before: { status: 'pending_approval' },
        after: describeActivation(approved),
      }),
    ]);
    return { activation: approved, role };
  });
}

/** Denies a pending request with a reason the requester is shown. Same rules as approving. */
export async function denyRequest(
  context: ServiceContext,
  request: { activationId: string; approverId: string; reason: string },
): Promise<{ activation: ActivationRow; role: Role }> {
  const reason = request.reason.trim();
  if (reason === '') {
    throw new UserError('justification_missing', 'Give the requester a reason for the denial.', 'reason');
  }
  return withApproverGroups(context, request, async (groupMembers) => {
    const now = context.clock.now();
    return context.db.transaction(async (tx) => {
      const { pending, role } = await authorizeDecision(tx, request.activationId, request.approverId, now, groupMembers);
      requireDecidable(pending, request.approverId, now);
      const [denied] = await tx
        .update(activations)
        .set({
          status: 'denied',
          decidedBy: request.approverId,
          decidedAt: now,
          decisionReason: reason,
          endedAt: now,
          endedBy: request.approverId,
          nextReminderAt: null,
        })
        .where(and(eq(activations.id, pending.id), eq(activations.status, 'pending_approval'), gt(activations.requestExpiresAt, now)))
        .returning();
      if (denied === undefined) throw notDecidable(await readActivation(tx, pending.id), request.approverId, now);

      await closeRequest(tx, role, denied, { outcome: 'denied', actorId: request.approverId, reason, now });
      return { activation: denied, role };
    });
  });
}

/**
 * Cancels the caller's own pending request: the one given by id, the one for the role, or the
 * only one. Nobody else may cancel it.
 */
export async function cancelRequest(
  context: ServiceContext,
  request: { userId: string; activationId?: string; roleId?: string },
): Promise<{ activation: ActivationRow; role: Role }> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const pending = await findOwnPending(tx, request);
    const [cancelled] = await tx
      .update(activations)
      .set({ status: 'cancelled', endedAt: now, endedBy: request.userId, nextReminderAt: null })
      .where(
        and(
          eq(activations.id, pending.id),
          eq(activations.userId, request.userId),
          eq(activations.status, 'pending_approval'),
        ),
      )
      .returning();
    if (cancelled === undefined) throw alreadyDecided(await readActivation(tx, pending.id), request.userId);
    const role = await readRole(tx, cancelled.roleId);
    await closeRequest(tx, role, cancelled, { outcome: 'cancelled', actorId: request.userId, reason: null, now });
    return { activation: cancelled, role };
  });
}

/**
 * Outcome of a timer (timeout or reminder) firing for a request. `retry_later` means the timer is
 * due but could not fire yet, and should run again at `retryAt`.
 */
export type TimerOutcome =
  | { outcome: 'done' }
  | { outcome: 'not_due'; dueAt: Date }
  | { outcome: 'retry_later'; retryAt: Date }
  | { outcome: 'nothing_to_do' };

/** Times out a request whose decision window has passed. Idempotent, like ending an activation. */
export async function timeOutRequest(context: ServiceContext, activationId: string): Promise<TimerOutcome> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const current = await readActivation(tx, activationId);
    if (current?.status !== 'pending_approval' || current.requestExpiresAt === null) return { outcome: 'nothing_to_do' };
    if (current.requestExpiresAt.getTime() > now.getTime()) return { outcome: 'not_due', dueAt: current.requestExpiresAt };
    const [timedOut] = await tx
      .update(activations)
      .set({ status: 'timed_out', endedAt: now, endedBy: SYSTEM_ACTOR, nextReminderAt: null })
      .where(and(eq(activations.id, activationId), eq(activations.status, 'pending_approval')))
      .returning();
    if (timedOut === undefined) return { outcome: 'nothing_to_do' };
    const role = await readRole(tx, timedOut.roleId);
    await closeRequest(tx, role, timedOut, { outcome: 'timed_out', actorId: SYSTEM_ACTOR, reason: null, now });
    return { outcome: 'done' };
  });
}

/**
 * Cancels the user's pending request for a role inside the caller's transaction, when their
 * eligibility is removed. Returns the cancelled row, or `undefined` when nothing was pending.
 */
export async function cancelPendingOnRemoval(
  tx: Transaction,
  input: { role: Role; userId: string; actorId: string; now: Date; reason?: string },
): Promise<ActivationRow | undefined> {
  const [cancelled] = await tx
    .update(activations)
    .set({ status: 'cancelled', endedAt: input.now, endedBy: input.actorId, nextReminderAt: null })
    .where(
      and(
        eq(activations.roleId, input.role.id),
        eq(activations.userId, input.userId),
        eq(activations.status, 'pending_approval'),
      ),
    )
    .returning();
  if (cancelled === undefined) return undefined;
  await closeRequest(tx, input.role, cancelled, {
    outcome: 'cancelled',
    actorId: input.actorId,
    reason: input.reason ?? 'eligibility removed',
    now: input.now,
  });
  return cancelled;
}

/**
 * Cancels, inside the caller's transaction, the pending requests of `role` that none of their
 * recorded approvers may decide under the role's current settings, and notifies each requester.
 * A change of approvers thus leaves no request without a possible decision. Returns the number
 * of requests cancelled.
 */
export async function cancelRequestsWithoutApprovers(tx: Transaction, role: Role, actorId: string, now: Date): Promise<number> {
  const rows = await tx
    .select({ activationId: approvalApprovers.activationId, approverId: approvalApprovers.approverId, source: approvalApprovers.source })
    .from(approvalApprovers)
    .innerJoin(activations, eq(activations.id, approvalApprovers.activationId))
    .where(and(eq(activations.roleId, role.id), eq(activations.status, 'pending_approval')));
  const decidable = new Set(rows.filter((row) => stillApprover(role, row.approverId, row.source)).map((row) => row.activationId));
  const orphaned = [...new Set(rows.map((row) => row.activationId))].filter((id) => !decidable.has(id));
  let cancelledCount = 0;
  for (const activationId of orphaned) {
    const [cancelled] = await tx
      .update(activations)
      .set({ status: 'cancelled', endedAt: now, endedBy: actorId, nextReminderAt: null })
      .where(and(eq(activations.id, activationId), eq(activations.status, 'pending_approval')))
      .returning();
    if (cancelled === undefined) continue;
    await closeRequest(tx, role, cancelled, {
      outcome: 'cancelled',
      actorId,
      reason: `the approvers of ${role.name} changed and none of those asked may decide it now; request it again to ask the new approvers`,
      now,
    });
    cancelledCount += 1;
  }
  return cancelledCount;
}

/** One of the requester's earlier activations of the role, as the approver's DM lists it. */
export interface RecentActivation {
  startsAt: Date;
  /** The planned end. */
  endsAt: Date;
  /** When it really ended; `null` while it is active. */
  endedAt: Date | null;
  durationMinutes: number;
  status: 'active' | 'expired' | 'deactivated';
}

/** Statuses of an activation that started. Denied, cancelled, timed-out and failed requests never did. */
const STARTED_STATUSES = ['active', 'expired', 'deactivated'] as const;

/** Most recent activations read for a request's DM; the rest are only counted. */
const RECENT_READ_LIMIT = 50;

/** Everything an approval message shows about a request, read fresh at delivery time. */
export interface RequestDetails {
  activation: ActivationRow;
  roleName: string;
  approverIds: string[];
  /**
   * The requester's activations of the role that started, requested in the
   * `RECENT_ACTIVATIONS_DAYS` days before this request, newest first (at most 50).
   */
  recent: RecentActivation[];
  /** How many such activations there are in all, including those past the 50 in `recent`. */
  recentCount: number;
}

/** Reads a request with its approvers and the requester's recent activations of the role. */
export async function readRequestDetails(db: Executor, activationId: string): Promise<RequestDetails | undefined> {
  const [row] = await db
    .select({ activation: activations, roleName: roles.name })
    .from(activations)
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(eq(activations.id, activationId));
  if (row === undefined) return undefined;
  const since = new Date(row.activation.requestedAt.getTime() - RECENT_ACTIVATIONS_DAYS * 24 * 60 * 60_000);
  // Bounded by this request's own time, so a DM rewritten later does not count what came after.
  const recent = await db
    .select({
      startsAt: activations.startsAt,
      endsAt: activations.endsAt,
      endedAt: activations.endedAt,
      durationMinutes: activations.durationMinutes,
      status: activations.status,
      total: sql<number>`count(*) over ()`.mapWith(Number),
    })
    .from(activations)
    .where(
      and(
        eq(activations.userId, row.activation.userId),
        eq(activations.roleId, row.activation.roleId),
        ne(activations.id, activationId),
        gte(activations.requestedAt, since),
        lte(activations.requestedAt, row.activation.requestedAt),
        inArray(activations.status, [...STARTED_STATUSES]),
      ),
    )
    .orderBy(desc(activations.startsAt))
    .limit(RECENT_READ_LIMIT);
  return {
    activation: row.activation,
    roleName: row.roleName,
    approverIds: await listApproverIds(db, activationId),
    recent: recent.map(({ total: _total, status, ...entry }) => ({ ...entry, status: status as RecentActivation['status'] })),
    recentCount: recent[0]?.total ?? 0,
  };
}

/** Records the DM an approver received, so it can be updated when the request is decided. */
export async function recordApprovalMessage(
  db: Executor,
  message: { activationId: string; approverId: string; channelId: string; ts: string },
): Promise<void> {
  await db.insert(approvalMessages).values(message).onConflictDoNothing();
}

/** Lists the approver DMs sent for a request. */
export async function listApprovalMessages(
  db: Executor,
  activationId: string,
): Promise<{ approverId: string; channelId: string; ts: string }[]> {
  return db
    .select({ approverId: approvalMessages.approverId, channelId: approvalMessages.channelId, ts: approvalMessages.ts })
    .from(approvalMessages)
    .where(eq(approvalMessages.activationId, activationId));
}

/** Decision attempts that may each find the role's approver groups changed since the last Slack read. */
const GROUP_READ_ATTEMPTS = 3;

/**
 * Thrown inside a decision's transaction when the approver was asked as a group member, so that
 * the caller reads the groups from Slack, outside any transaction, and decides again.
 */
class GroupMembersNeeded extends Error {
  constructor(readonly role: Role) {
    super(`the members of ${role.name}'s approver groups are needed`);
    this.name = 'GroupMembersNeeded';
  }
}

/**
 * Runs `decide` without group members first, which is all a named approver or an administrator
 * needs. When the approver was asked as a member of an approver group, reads the role's groups
 * from Slack and runs `decide` again with them, so that someone removed from the group in Slack
 * can no longer decide. When the Slack call fails, the decision is rejected rather than made
 * unchecked.
 */
export async function withApproverGroups<T>(
  context: ServiceContext,
  request: { activationId: string; approverId: string },
  decide: (groupMembers: GroupMembers | undefined) => Promise<T>,
): Promise<T> {
  let groupMembers: GroupMembers | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await decide(groupMembers);
    } catch (error) {
      if (!(error instanceof GroupMembersNeeded)) throw error;
      if (attempt === GROUP_READ_ATTEMPTS) {
        throw new UserError('group_check_failed', `The approvers of ${error.role.name} changed while you decided. Try again.`);
      }
      groupMembers = await readGroupMembers(context, error.role, request);
    }
  }
}

async function readGroupMembers(
  context: ServiceContext,
  role: Role,
  request: { activationId: string; approverId: string },
): Promise<GroupMembers> {
  const groupIds = role.settings.approvers.groups;
  try {
    const lists = await Promise.all(groupIds.map((groupId) => listMembersOrNone(context, groupId)));
    return new Map(groupIds.map((groupId, index) => [groupId, lists[index] ?? []]));
  } catch (error) {
    const ids = { activationId: request.activationId, approverId: request.approverId, roleId: role.id, groupIds };
    if (error instanceof SlackRateLimitedError) {
      context.logger.warn({ ...ids, retryAfterMs: error.retryAfterMs }, 'Slack rate-limited reading approver groups; decision rejected');
      throw new UserError(
        'slack_rate_limited',
        `Slack is limiting how often slack-pim may read user groups, so it could not check that you are still in an approver group of ${role.name}, and nothing was decided. Try again in ${error.retryAfterText}.`,
      );
    }
    if (error instanceof SlackAccessError) {
      context.logger.error(
        { ...ids, slackError: error.code },
        'Slack rejected slack-pim reading approver groups; decisions fail until an administrator fixes the installation',
      );
      throw new UserError('slack_access_denied', groupAccessMessage(role, error, 'nothing was decided'));
    }
    context.logger.warn({ ...ids, err: error }, 'failed to read approver groups from Slack; decision rejected');
    throw new UserError(
      'group_check_failed',
      `slack-pim could not check with Slack that you are still in an approver group of ${role.name}, so nothing was decided. Try again in a minute.`,
    );
  }
}

/**
 * Tells someone whose request or decision needed a role's approver groups that Slack rejected
 * slack-pim's access to them, and that waiting will not help.
 */
export function groupAccessMessage(role: Role, error: SlackAccessError, outcome: string): string {
  return `Slack does not let slack-pim read the approver groups of ${role.name} (${error.code}), so ${outcome}. Trying again will not help: ask a Privileged Role Administrator to check slack-pim's installation in Slack (its token and the usergroups:read scope) or to name approvers instead of user groups.`;
}

/**
 * Checks that `approverId` may decide the request right now, from the database: a recorded
 * approver, not the requester, and, when standing in as administrator, still an active one. A
 * group member must be in one of the role's approver groups in `groupMembers`. Without the
 * members of every group the role names, it throws for {@link withApproverGroups} to read them.
 * `'later'` skips the group check, for a preview that must not wait for Slack and is followed
 * by a decision that checks.
 */
export async function authorizeDecision(
  db: Executor,
  activationId: string,
  approverId: string,
  now: Date,
  groupMembers: GroupMembers | 'later' | undefined,
): Promise<{ pending: ActivationRow; role: Role }> {
  // Both reads go out in one round trip. The checks below keep their order.
  const [pending, [approver]] = await Promise.all([
    readActivation(db, activationId),
    db
      .select({ source: approvalApprovers.source })
      .from(approvalApprovers)
      .where(and(eq(approvalApprovers.activationId, activationId), eq(approvalApprovers.approverId, approverId))),
  ]);
  if (pending === undefined || pending.requestExpiresAt === null) {
    throw new UserError('request_not_found', 'This request does not exist, so there is nothing to decide.');
  }
  if (pending.userId === approverId) {
    throw new UserError('not_authorized', 'You cannot approve or deny your own request.');
  }
  if (approver === undefined) {
    throw new UserError('not_authorized', 'You are not an approver of this request, so you cannot decide it.');
  }
  // FOR SHARE waits for a change of the role's settings in progress and holds off the next one
  // until this decision commits, so the approvers checked are those the decision commits under.
  const [roleRow] = await db.select().from(roles).where(eq(roles.id, pending.roleId)).for('share');
  if (roleRow === undefined) throw new Error(`role ${pending.roleId} not found`);
  const role = toRole(roleRow);
  if (!stillApprover(role, approverId, approver.source)) {
    throw new UserError(
      'not_authorized',
      `You are no longer an approver of ${role.name}: its approvers changed after this request was filed, so you cannot decide it.`,
    );
  }
  if (approver.source === 'group' && groupMembers !== 'later') {
    const { groups } = role.settings.approvers;
    if (groupMembers === undefined || groups.some((groupId) => !groupMembers.has(groupId))) throw new GroupMembersNeeded(role);
    if (!groups.some((groupId) => groupMembers.get(groupId)?.includes(approverId))) {
      throw new UserError('not_authorized', `You are no longer in an approver group of ${role.name}, so you cannot decide this request.`);
    }
  }
  if (approver.source === 'pra' && !(await readAccess(db, approverId, now)).isActivePra) {
    throw new UserError(
      'not_authorized',
      'You were asked as a Privileged Role Administrator, but that role is no longer active for you. Activate it to decide.',
    );
  }
  return { pending, role };
}

async function closeRequest(
  tx: Transaction,
  role: Role,
  closed: ActivationRow,
  input: { outcome: 'denied' | 'cancelled' | 'timed_out'; actorId: string; reason: string | null; now: Date },
): Promise<void> {
  const items: OutboxItem[] = [{ kind: 'approval_update', payload: { activationId: closed.id } }];
  if (input.outcome !== 'cancelled' || input.actorId !== closed.userId) {
    items.push({
      kind: 'notice',
      payload: {
        to: { userId: closed.userId },
        notice: {
          type: 'request_closed',
          activationId: closed.id,
          userId: closed.userId,
          roleName: role.name,
          outcome: input.outcome,
          decidedBy: input.actorId,
          reason: input.reason,
        },
      },
    });
  }
  items.push(...homeRefreshes([closed.userId, ...(await listApproverIds(tx, closed.id))]));
  await enqueueOutbox(tx, items);
  await appendAudit(tx, {
    occurredAt: input.now,
    actorId: input.actorId,
    action: `request.${input.outcome}`,
    targetType: 'activation',
    targetId: closed.id,
    roleId: role.id,
    subjectUserId: closed.userId,
    reason: input.reason,
    before: { status: 'pending_approval' },
    after: { status: closed.status },
  });
}

/**
 * Throws `already_decided`, saying who decided and when, unless the request is still pending and
 * its decision window is open at `now`. A request past its window counts as timed out even before
 * the timeout job or the sweep has closed it, so a delayed worker does not extend the window.
 */
export function requireDecidable(request: ActivationRow, viewerId: string, now: Date): void {
  const refusal = decisionRefusal(request, viewerId, now);
  if (refusal !== undefined) throw refusal;
}

/** Returns why `request` cannot be decided at `now`, or `undefined` when it can. */
function decisionRefusal(request: ActivationRow, viewerId: string, now: Date): UserError | undefined {
  if (request.status !== 'pending_approval') return alreadyDecided(request, viewerId);
  if (request.requestExpiresAt !== null && request.requestExpiresAt.getTime() <= now.getTime()) {
    return new UserError(
      'already_decided',
      `This request timed out ${slackDateToken(request.requestExpiresAt)} because nobody decided in time, so it can no longer be approved or denied; nothing changed.`,
    );
  }
  return undefined;
}

/** Returns the error for a decision whose conditional update matched no row: decided meanwhile, or timed out. */
function notDecidable(current: ActivationRow | undefined, viewerId: string, now: Date): UserError {
  if (current === undefined) return alreadyDecided(current, viewerId);
  return decisionRefusal(current, viewerId, now) ?? alreadyDecided(current, viewerId);
}

function alreadyDecided(current: ActivationRow | undefined, viewerId: string): UserError {
  if (current === undefined) return new UserError('request_not_found', 'This request does not exist.');
  const by = current.decidedBy ?? current.endedBy;
  let who = '';
  if (by === viewerId) who = ' by you';
  else if (by !== null && by !== SYSTEM_ACTOR) who = ` by <@${by}>`;
  const when = current.decidedAt ?? current.endedAt;
  const at = when === null ? '' : ` ${slackDateToken(when)}`;
  const outcome: Record<string, string> = {
    active: 'approved',
    expired: 'approved',
    deactivated: 'approved',
    denied: 'denied',
    cancelled: 'cancelled',
    timed_out: 'timed out without a decision',
    failed: 'closed',
  };
  return new UserError(
    'already_decided',
    `This request was already ${outcome[current.status] ?? 'decided'}${who}${at}; nothing changed.`,
  );
}

async function findOwnPending(
  tx: Transaction,
  request: { userId: string; activationId?: string; roleId?: string },
): Promise<ActivationRow> {
  if (request.activationId !== undefined) {
    const row = await readActivation(tx, request.activationId);
    if (row === undefined || row.requestExpiresAt === null) {
      throw new UserError('request_not_found', 'This request does not exist.');
    }
    if (row.userId !== request.userId) {
      throw new UserError('not_authorized', 'Only the person who made a request can cancel it.');
    }
    if (row.status !== 'pending_approval') throw alreadyDecided(row, request.userId);
    return row;
  }
  const conditions = [eq(activations.userId, request.userId), eq(activations.status, 'pending_approval')];
  if (request.roleId !== undefined) conditions.push(eq(activations.roleId, request.roleId));
  const pending = await tx.select().from(activations).where(and(...conditions));
  const [only] = pending;
  if (only === undefined) throw new UserError('request_not_found', 'You have no pending request to cancel.');
  if (pending.length > 1) {
    throw new UserError('usage', 'You have several pending requests. Say which: `/pim cancel <role>`.');
  }
  return only;
}

/** Reads a request or activation by id. */
export async function readActivation(db: Executor, activationId: string): Promise<ActivationRow | undefined> {
  const [row] = await db.select().from(activations).where(eq(activations.id, activationId));
  return row;
}

/** Reads a role by id; throws when it does not exist. */
export async function readRole(db: Executor, roleId: string): Promise<Role> {
  const role = (await listRoles(db)).find((candidate) => candidate.id === roleId);
  if (role === undefined) throw new Error(`role ${roleId} not found`);
  return role;
}

async function listApproverIds(db: Executor, activationId: string): Promise<string[]> {
  const rows = await db
    .select({ approverId: approvalApprovers.approverId })
    .from(approvalApprovers)
    .where(eq(approvalApprovers.activationId, activationId));
  return rows.map((row) => row.approverId);
}

/** A pending request with its next reminder and timeout, for the sweep and for rebuilding jobs. */
export interface RequestTimers {
  id: string;
  requestExpiresAt: Date;
  nextReminderAt: Date | null;
  remindersSent: number;
}

/** Lists pending requests with a timeout or reminder due at `now`. */
export async function findDueRequests(db: Executor, now: Date, limit: number): Promise<RequestTimers[]> {
  const rows = await listPendingRequests(db, limit, now);
  return rows.filter(
    (row) =>
      row.requestExpiresAt.getTime() <= now.getTime() ||
      (row.nextReminderAt !== null && row.nextReminderAt.getTime() <= now.getTime()),
  );
}

/** Lists pending requests (at most `limit`, or those due by `dueBy` when given). */
export async function listPendingRequests(db: Executor, limit: number, dueBy?: Date): Promise<RequestTimers[]> {
  const conditions = [eq(activations.status, 'pending_approval')];
  if (dueBy !== undefined) {
    conditions.push(or(lte(activations.requestExpiresAt, dueBy), lte(activations.nextReminderAt, dueBy)) ?? eq(activations.status, 'pending_approval'));
  }
  const rows = await db
    .select({
      id: activations.id,
      requestExpiresAt: activations.requestExpiresAt,
      nextReminderAt: activations.nextReminderAt,
      remindersSent: activations.remindersSent,
    })
    .from(activations)
    .where(and(...conditions))
    .orderBy(activations.requestExpiresAt)
    .limit(limit);
  return rows.flatMap((row) => (row.requestExpiresAt === null ? [] : [{ ...row, requestExpiresAt: row.requestExpiresAt }]));
}
