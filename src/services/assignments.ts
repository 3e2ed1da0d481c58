import { and, eq, gt, isNull, ne, or, sql } from 'drizzle-orm';
import { assignments, roles } from '../../db/schema.js';
import type { Database, Transaction } from '../../db/client.js';
import { PRIVILEGED_ROLE_ADMINISTRATOR, SECURITY_ADMINISTRATOR } from '../domain/roles.js';
import { UserError } from '../errors.js';
import { listActivePraIds, requireActivePra } from './access.js';
import { checkAssignmentRules } from '../domain/role-settings.js';
import type { Notice } from './notices.js';
import { closeOpenActivation } from './activation-ending.js';
import { cancelPendingOnRemoval } from './approvals.js';
import { appendAudit, SYSTEM_ACTOR } from './audit.js';
import { homeRefreshes } from './home-refresh.js';
import { enqueueOutbox, type OutboxItem } from './outbox.js';
import { assignmentTimerItems, isLastActivePraAssignment, lastAdminWarning } from './assignment-ending.js';
import { endNoticesAlreadyDue } from '../domain/assignment-ending.js';
import { isBlankReason } from '../domain/reason.js';
import { listRoles, pickRole, type Role } from './roles.js';
import type { ServiceContext } from './context.js';

export type AssignmentKind = 'eligible' | 'active';
type AssignmentRow = typeof assignments.$inferSelect;

// Serializes `/pim setup` bootstraps, so two first users at once cannot both become administrator.
const FIRST_ADMIN_LOCK_KEY = 7_301_145_003;

/** A request to make a user eligible for, or an active holder of, a role. */
export interface AssignRequest {
  actorId: string;
  assigneeId: string;
  roleQuery: string;
  kind: AssignmentKind;
  /** End of the assignment; `null` for a permanent one. */
  endsAt: Date | null;
  reason: string | null;
}

export interface AssignResult {
  outcome: 'added' | 'updated';
  role: Role;
  assignment: AssignmentRow;
}

/** Adds an assignment, or changes the kind or end of the current one. Active PRAs only. */
export async function assignRole(context: ServiceContext, input: AssignRequest): Promise<AssignResult> {
  const request = withoutBlankReason(input);
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    await requireActivePra(tx, request.actorId, now, 'assign roles');
    const role = pickRole(request.roleQuery, await listRoles(tx));
    const rules = checkAssignmentRules(role.name, role.settings, {
      kind: request.kind,
      endsAt: request.endsAt,
      reason: request.reason,
      now,
    });
    if (!rules.ok) throw new UserError(rules.code, rules.message);
    const endsAt = rules.endsAt;
    const existing = await findCurrentAssignment(tx, role.id, request.assigneeId);

    if (existing !== undefined) {
      const sameEnd = (existing.endsAt?.getTime() ?? null) === (endsAt?.getTime() ?? null);
      if (existing.kind === request.kind && sameEnd) {
        throw new UserError(
          'assignment_exists',
          `<@${request.assigneeId}> already has this ${request.kind} assignment of ${role.name}; nothing changed.`,
        );
      }
      if (role.slug === PRIVILEGED_ROLE_ADMINISTRATOR && existing.kind === 'active' && request.kind === 'eligible') {
        await refuseRemovingLastPra(tx, existing, now, 'making it eligible');
      }
      const sameEndNotices = sameEnd ? existing.endNoticesSent : endNoticesAlreadyDue(endsAt, now);
      const [updated] = await tx
        .update(assignments)
        .set({
          kind: request.kind,
          endsAt,
          reason: request.reason,
          assignedBy: request.actorId,
          endNoticesSent: sameEndNotices,
        })
        .where(and(eq(assignments.id, existing.id), eq(assignments.status, 'current')))
        .returning();
      if (updated === undefined) throw new Error(`assignment ${existing.id} changed during update`);
      await finishAssignmentChange(tx, context, now, request, role, updated, 'assignment.updated', existing);
      return { outcome: 'updated', role, assignment: updated };
    }

    const [inserted] = await tx
      .insert(assignments)
      .values({
        roleId: role.id,
        userId: request.assigneeId,
        kind: request.kind,
        status: 'current',
        startsAt: now,
        endsAt,
        assignedBy: request.actorId,
        reason: request.reason,
        endNoticesSent: endNoticesAlreadyDue(endsAt, now),
      })
      .onConflictDoNothing()
      .returning();
    if (inserted === undefined) {
      throw new UserError(
        'assignment_exists',
        `<@${request.assigneeId}> was assigned ${role.name} by someone else a moment ago; check with \`/pim roles\`.`,
      );
    }
    await finishAssignmentChange(tx, context, now, request, role, inserted, 'assignment.added', undefined);
    return { outcome: 'added', role, assignment: inserted };
  });
}

/** A request to remove a user's current assignment of a role. */
export interface RemoveRequest {
  actorId: string;
  assigneeId: string;
  roleQuery: string;
  reason: string | null;
}

/**
 * Removes the current assignment and ends any open activation of that role by that user,
 * so losing eligibility also takes away access in use. Active PRAs only.
 */
export async function removeAssignment(
  context: ServiceContext,
  input: RemoveRequest,
): Promise<{ role: Role; assignment: AssignmentRow }> {
  const request = withoutBlankReason(input);
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    await requireActivePra(tx, request.actorId, now, 'remove assignments');
    const role = pickRole(request.roleQuery, await listRoles(tx));
    const existing = await findCurrentAssignment(tx, role.id, request.assigneeId);
    if (existing === undefined) {
      throw new UserError(
        'assignment_not_found',
        `<@${request.assigneeId}> has no assignment of ${role.name}, so there is nothing to remove.`,
      );
    }
    if (role.slug === PRIVILEGED_ROLE_ADMINISTRATOR && existing.kind === 'active') {
      await refuseRemovingLastPra(tx, existing, now, 'removing it');
    }

    const [removed] = await tx
      .update(assignments)
      .set({ status: 'removed', endedAt: now, endedBy: request.actorId })
      .where(and(eq(assignments.id, existing.id), eq(assignments.status, 'current')))
      .returning();
    if (removed === undefined) throw new Error(`assignment ${existing.id} changed during removal`);

    const outbox: OutboxItem[] = [];
    await closeOpenActivation(tx, {
      roleId: role.id,
      roleName: role.name,
      userId: request.assigneeId,
      now,
      endedBy: request.actorId,
      reason: 'eligibility_removed',
      outbox,
    });
    await cancelPendingOnRemoval(tx, { role, userId: request.assigneeId, actorId: request.actorId, now });
    outbox.push({
      kind: 'notice',
      payload: {
        to: { userId: request.assigneeId },
        notice: {
          type: 'assignment_removed',
          assignmentId: removed.id,
          userId: request.assigneeId,
          roleName: role.name,
          kind: removed.kind,
          removedBy: request.actorId,
          reason: request.reason,
        },
      },
    });
    outbox.push(...homeRefreshes([request.assigneeId], { administrators: true }));
    await enqueueOutbox(tx, outbox);
    await appendAudit(tx, {
      occurredAt: now,
      actorId: request.actorId,
      action: 'assignment.removed',
      targetType: 'assignment',
      targetId: removed.id,
      roleId: role.id,
      subjectUserId: request.assigneeId,
      reason: request.reason,
      before: describeAssignment(existing),
      after: describeAssignment(removed),
    });
    return { role, assignment: removed };
  });
}

/**
 * Gives each user in `userIds` a permanent active Privileged Role Administrator and Security
 * Administrator assignment when they hold no current assignment of that role. Existing
 * assignments are left alone, so an administrator's later change (such as making a bootstrap
 * admin eligible only) survives restarts. Returns the users who received anything.
 */
export async function bootstrapAdmins(context: ServiceContext, userIds: readonly string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const granted = await grantAdministratorRoles(tx, context, now, userIds, {
      reason: 'Bootstrap administrator listed in PIM_ADMINS',
      via: 'PIM_ADMINS',
    });
    return granted;
  });
}

/** Outcome of `claimFirstAdministrator`. */
export type FirstAdministratorClaim =
  /** The caller is now the first administrator. */
  | 'claimed'
  /** A current Privileged Role Administrator assignment exists. */
  | 'administered'
  /** Administrators existed and none is left: only `PIM_ADMINS` can name new ones. */
  | 'lapsed';

/**
 * Makes `userId` permanent active Privileged Role Administrator and Security Administrator when
 * slack-pim has never had a Privileged Role Administrator: the bootstrap of `/pim setup` when
 * `PIM_ADMINS` is unset. Once the last administrator's assignment has ended, `/pim setup` makes no
 * one administrator again, because any member could otherwise take slack-pim over by running it
 * first. An operator names new administrators in `PIM_ADMINS` instead. A transaction-scoped
 * advisory lock lets one of two simultaneous first users win.
 */
export async function claimFirstAdministrator(context: ServiceContext, userId: string): Promise<FirstAdministratorClaim> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${FIRST_ADMIN_LOCK_KEY})`);
    const [latest] = await tx
      .select({ status: assignments.status })
      .from(assignments)
      .innerJoin(roles, eq(roles.id, assignments.roleId))
      .where(eq(roles.slug, PRIVILEGED_ROLE_ADMINISTRATOR))
      .orderBy(sql`${assignments.status} = 'current' desc`)
      .limit(1);
    if (latest !== undefined) return latest.status === 'current' ? 'administered' : 'lapsed';
    await grantAdministratorRoles(tx, context, now, [userId], {
      reason: 'First user to run /pim setup while slack-pim had no Privileged Role Administrator',
      via: 'setup',
    });
    return 'claimed';
  });
}

async function grantAdministratorRoles(
  tx: Transaction,
  context: ServiceContext,
  now: Date,
  userIds: readonly string[],
  source: { reason: string; via: 'PIM_ADMINS' | 'setup' },
): Promise<string[]> {
  const adminRoles = await tx
    .select()
    .from(roles)
    .where(sql`${roles.slug} in (${PRIVILEGED_ROLE_ADMINISTRATOR}, ${SECURITY_ADMINISTRATOR})`);
  const granted = new Set<string>();
  for (const userId of userIds) {
    for (const role of adminRoles) {
      const [inserted] = await tx
        .insert(assignments)
        .values({
          roleId: role.id,
          userId,
          kind: 'active',
          status: 'current',
          startsAt: now,
          endsAt: null,
          assignedBy: SYSTEM_ACTOR,
          reason: source.reason,
          endNoticesSent: endNoticesAlreadyDue(null, now),
        })
        .onConflictDoNothing()
        .returning();
      if (inserted === undefined) continue;
      granted.add(userId);
      await appendAudit(tx, {
        occurredAt: now,
        actorId: SYSTEM_ACTOR,
        action: 'assignment.added',
        targetType: 'assignment',
        targetId: inserted.id,
        roleId: role.id,
        subjectUserId: userId,
        reason: inserted.reason,
        after: describeAssignment(inserted),
      });
    }
  }
  if (granted.size === 0) return [];
  const items: OutboxItem[] = homeRefreshes(granted, { administrators: true });
  if (context.securityChannelId !== undefined) {
    items.push({
      kind: 'notice',
      payload: {
        to: { channelId: context.securityChannelId },
        notice: {
          type: 'admins_bootstrapped',
          userIds: [...granted],
          roleNames: adminRoles.map((r) => r.name),
          via: source.via,
        },
      },
    });
  }
  await enqueueOutbox(tx, items);
  return [...granted];
}

/** Finds the user's current assignment of a role, whatever its kind. */
export async function findCurrentAssignment(
  tx: Transaction | Database,
  roleId: string,
  userId: string,
): Promise<AssignmentRow | undefined> {
  const [row] = await tx
    .select()
    .from(assignments)
    .where(and(eq(assignments.roleId, roleId), eq(assignments.userId, userId), eq(assignments.status, 'current')));
  return row;
}

/** Returns the fields of an assignment that audit events record. */
export function describeAssignment(row: AssignmentRow): Record<string, unknown> {
  return {
    userId: row.userId,
    kind: row.kind,
    status: row.status,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt?.toISOString() ?? null,
    assignedBy: row.assignedBy,
  };
}

async function finishAssignmentChange(
  tx: Transaction,
  context: ServiceContext,
  now: Date,
  request: AssignRequest,
  role: Role,
  assignment: AssignmentRow,
  action: 'assignment.added' | 'assignment.updated',
  before: AssignmentRow | undefined,
): Promise<void> {
  const notice = (audience: 'assignee' | 'administrator'): Notice => ({
    type: 'assignment_added',
    audience,
    assignmentId: assignment.id,
    userId: request.assigneeId,
    roleName: role.name,
    kind: assignment.kind,
    endsAt: assignment.endsAt?.toISOString() ?? null,
    assignedBy: request.actorId,
    reason: request.reason,
  });
  const items: OutboxItem[] = [];
  if (role.settings.notifyAssignee) {
    items.push({ kind: 'notice', payload: { to: { userId: request.assigneeId }, notice: notice('assignee') } });
  }
  if (role.settings.notifyAdminsOnAssignment) {
    const admins = await listActivePraIds(tx, now);
    for (const adminId of admins.filter((id) => id !== request.actorId && id !== request.assigneeId)) {
      items.push({ kind: 'notice', payload: { to: { userId: adminId }, notice: notice('administrator') } });
    }
  }
  if (assignment.endsAt !== null && (await isLastActivePraAssignment(tx, role, assignment, assignment.endsAt))) {
    items.push(...lastAdminWarning(context, assignment, 'assigned'));
  }
  items.push(...assignmentTimerItems(assignment));
  items.push(...homeRefreshes([request.assigneeId], { administrators: true }));
  await enqueueOutbox(tx, items);
  await appendAudit(tx, {
    occurredAt: now,
    actorId: request.actorId,
    action,
    targetType: 'assignment',
    targetId: assignment.id,
    roleId: role.id,
    subjectUserId: request.assigneeId,
    reason: request.reason,
    before: before === undefined ? null : describeAssignment(before),
    after: describeAssignment(assignment),
  });
}

/**
 * Throws unless another active Privileged Role Administrator assignment is in force at `now`.
 * `change` names what would take this one away, for the message.
 */
export async function refuseRemovingLastPra(
  tx: Transaction,
  removing: AssignmentRow,
  now: Date,
  change: string,
): Promise<void> {
  const others = await tx
    .select({ id: assignments.id })
    .from(assignments)
    .where(
      and(
        eq(assignments.roleId, removing.roleId),
        eq(assignments.status, 'current'),
        eq(assignments.kind, 'active'),
        ne(assignments.id, removing.id),
        or(isNull(assignments.endsAt), gt(assignments.endsAt, now)),
      ),
    )
    .limit(1);
  if (others.length === 0) {
    throw new UserError(
      'not_authorized',
      `This is the last active Privileged Role Administrator assignment; ${change} would leave nobody able to manage slack-pim. Assign another active administrator first.`,
    );
  }
}

/** Returns the request with a reason of only spaces and quotes made `null`, as the command reads it. */
function withoutBlankReason<T extends { reason: string | null }>(request: T): T {
  return isBlankReason(request.reason) ? { ...request, reason: null } : request;
}
