import { and, asc, eq, gt, inArray, isNull, lte, or } from 'drizzle-orm';
import { activations, assignments, roles } from '../../db/schema.js';
import type { Executor, Transaction } from '../../db/client.js';
import { activationWindow, checkActivationRequest } from '../domain/activation.js';
import { slackDateToken } from '../domain/dates.js';
import { UserError } from '../errors.js';
import { closeOpenActivation } from './activation-ending.js';
import { appendAudit } from './audit.js';
import type { ServiceContext } from './context.js';
import { enqueueOutbox, type OutboxItem } from './outbox.js';
import { listRoles, pickRole, type Role } from './roles.js';

type ActivationRow = typeof activations.$inferSelect;

/** A request to activate an eligible role now. */
export interface ActivateRequest {
  userId: string;
  roleQuery: string;
  durationMinutes: number | undefined;
  justification: string | undefined;
}

/** An activation that has started, with its role. */
export interface ActivationResult {
  activation: ActivationRow;
  role: Role;
}

/**
 * Activates an eligible role for the requested duration. Checks eligibility, open
 * activations and the role's rules before writing; on success the activation, its audit
 * event, the DM, the security post and the expiry job are committed together.
 */
export async function activateRole(context: ServiceContext, request: ActivateRequest): Promise<ActivationResult> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const role = pickRole(request.roleQuery, await listRoles(tx));
    const assignment = await findAssignmentInForce(tx, role.id, request.userId, now);
    if (assignment === undefined) {
      throw new UserError(
        'not_eligible',
        `You are not eligible for ${role.name}, so it cannot be activated. Ask a Privileged Role Administrator if you need it.`,
        'role',
      );
    }
    if (assignment.kind === 'active') {
      const until = assignment.endsAt === null ? 'permanently' : `until ${slackDateToken(assignment.endsAt)}`;
      throw new UserError('already_open', `You already hold ${role.name} ${until}; there is nothing to activate.`, 'role');
    }
    await refuseIfOpen(tx, role, request.userId);

    const check = checkActivationRequest(role.name, role.settings, request);
    if (!check.ok) {
      const [problem] = check.problems;
      if (problem !== undefined) throw new UserError(problem.code, problem.message, problem.field);
      throw new Error('activation request rejected without a reason');
    }
    const { durationMinutes, justification } = check;

    const window = activationWindow(now, durationMinutes);
    const [activation] = await tx
      .insert(activations)
      .values({
        roleId: role.id,
        userId: request.userId,
        assignmentId: assignment.id,
        status: 'active',
        requestedAt: now,
        startsAt: window.startsAt,
        endsAt: window.endsAt,
        durationMinutes,
        justification,
      })
      .onConflictDoNothing()
      .returning();
    if (activation === undefined) {
      // Another request for the same role won the partial unique index a moment ago.
      await refuseIfOpen(tx, role, request.userId);
      throw new Error(`activation of role ${role.id} for ${request.userId} conflicted but no open one was found`);
    }

    await enqueueOutbox(tx, activationStartedItems(context, role, activation));
    await appendAudit(tx, {
      occurredAt: now,
      actorId: request.userId,
      action: 'activation.activated',
      targetType: 'activation',
      targetId: activation.id,
      roleId: role.id,
      subjectUserId: request.userId,
      reason: justification,
      after: {
        status: activation.status,
        startsAt: activation.startsAt.toISOString(),
        endsAt: activation.endsAt.toISOString(),
        durationMinutes,
      },
    });
    return { activation, role };
  });
}

/**
 * Ends the caller's own active activation ahead of time. Without a role it ends the only
 * active one, and asks which when there are several.
 */
export async function deactivateRole(
  context: ServiceContext,
  request: { userId: string; roleQuery: string | undefined },
): Promise<ActivationResult> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const open = await tx
      .select({ activation: activations, role: roles })
      .from(activations)
      .innerJoin(roles, eq(roles.id, activations.roleId))
      .where(and(eq(activations.userId, request.userId), eq(activations.status, 'active')))
      .orderBy(asc(roles.name));
    let target: (typeof open)[number] | undefined;
    if (request.roleQuery !== undefined) {
      const role = pickRole(request.roleQuery, await listRoles(tx));
      target = open.find((row) => row.role.id === role.id);
      if (target === undefined) {
        throw new UserError('not_active', `${role.name} is not active for you, so there is nothing to deactivate.`);
      }
    } else if (open.length === 1) {
      target = open[0];
    } else if (open.length === 0) {
      throw new UserError('not_active', 'You have no active roles to deactivate.');
    } else {
      const names = open.map((row) => `\`${row.role.slug}\``).join(', ');
      throw new UserError('usage', `You have several active roles (${names}). Say which: \`/pim deactivate <role>\`.`);
    }
    if (target === undefined) throw new Error('unreachable: no deactivation target');

    const outbox: OutboxItem[] = [];
    const ended = await closeOpenActivation(tx, {
      roleId: target.role.id,
      roleName: target.role.name,
      userId: request.userId,
      now,
      endedBy: request.userId,
      reason: 'deactivated',
      outbox,
    });
    if (ended === undefined) {
      throw new UserError('not_active', `${target.role.name} already ended.`);
    }
    await enqueueOutbox(tx, outbox);
    const role = (await listRoles(tx)).find((candidate) => candidate.id === ended.roleId);
    if (role === undefined) throw new Error(`role ${ended.roleId} of activation ${ended.id} not found`);
    return { activation: ended, role };
  });
}

/** Lists the roles `userId` is eligible for at `now`, by name. */
export async function listEligibleRoles(db: Executor, userId: string, now: Date): Promise<Role[]> {
  const rows = await db
    .select({ roleId: assignments.roleId })
    .from(assignments)
    .where(and(eq(assignments.userId, userId), eq(assignments.kind, 'eligible'), inForce(now)));
  const ids = new Set(rows.map((row) => row.roleId));
  return (await listRoles(db)).filter((role) => ids.has(role.id));
}

/** Finds active activations whose end time has passed: the work of the overdue sweep. */
export async function findOverdueActivations(
  db: Executor,
  now: Date,
  limit: number,
): Promise<{ id: string; endsAt: Date }[]> {
  return db
    .select({ id: activations.id, endsAt: activations.endsAt })
    .from(activations)
    .where(and(eq(activations.status, 'active'), lte(activations.endsAt, now)))
    .orderBy(asc(activations.endsAt))
    .limit(limit);
}

/** Lists every active activation's id and end time, to rebuild expiry jobs after Redis lost them. */
export async function listActiveActivations(db: Executor): Promise<{ id: string; endsAt: Date }[]> {
  return db
    .select({ id: activations.id, endsAt: activations.endsAt })
    .from(activations)
    .where(eq(activations.status, 'active'));
}

function inForce(now: Date) {
  return and(
    eq(assignments.status, 'current'),
    lte(assignments.startsAt, now),
    or(isNull(assignments.endsAt), gt(assignments.endsAt, now)),
  );
}

async function findAssignmentInForce(tx: Transaction, roleId: string, userId: string, now: Date) {
  const [row] = await tx
    .select()
    .from(assignments)
    .where(and(eq(assignments.roleId, roleId), eq(assignments.userId, userId), inForce(now)));
  return row;
}

async function refuseIfOpen(tx: Transaction, role: Role, userId: string): Promise<void> {
  const [open] = await tx
    .select({ status: activations.status, endsAt: activations.endsAt })
    .from(activations)
    .where(
      and(
        eq(activations.roleId, role.id),
        eq(activations.userId, userId),
        inArray(activations.status, ['active', 'pending_approval']),
      ),
    );
  if (open === undefined) return;
  const message =
    open.status === 'active'
      ? `${role.name} is already active for you until ${slackDateToken(open.endsAt)}.`
      : `You already have a request for ${role.name} waiting for approval.`;
  throw new UserError('already_open', message, 'role');
}

function activationStartedItems(context: ServiceContext, role: Role, activation: ActivationRow): OutboxItem[] {
  const items: OutboxItem[] = [
    {
      kind: 'notice',
      payload: {
        to: { userId: activation.userId },
        notice: {
          type: 'activation_started',
          activationId: activation.id,
          userId: activation.userId,
          roleName: role.name,
          endsAt: activation.endsAt.toISOString(),
          durationMinutes: activation.durationMinutes,
        },
      },
    },
    { kind: 'expire_activation', payload: { activationId: activation.id, endsAt: activation.endsAt.toISOString() } },
  ];
  if (role.settings.postActivationsToSecurityChannel && context.securityChannelId !== undefined) {
    items.push({
      kind: 'notice',
      payload: {
        to: { channelId: context.securityChannelId },
        notice: {
          type: 'activation_announced',
          activationId: activation.id,
          userId: activation.userId,
          roleName: role.name,
          startsAt: activation.startsAt.toISOString(),
          endsAt: activation.endsAt.toISOString(),
          durationMinutes: activation.durationMinutes,
          justification: activation.justification,
        },
      },
    });
  }
  return items;
}
