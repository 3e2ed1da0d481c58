import { and, asc, eq, exists, isNull, sql } from 'drizzle-orm';
import { activations, assignments, roles } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';
import { checkActivationRequest } from '../domain/activation.js';
import { fileRequest, groupAccessMessage } from './approvals.js';
import { listMembersOrNone } from './approver-membership.js';
import {
  activationStartedItems,
  describeActivation,
  findAssignmentInForce,
  inForce,
  insertActivation,
  findOpenActivation,
  rejectOpen,
  type ActivationRow,
} from './activation-records.js';
import { slackDateToken } from '../domain/dates.js';
import { UserError } from '../errors.js';
import { closeOpenActivation } from './activation-ending.js';
import { appendAudit } from './audit.js';
import { SlackAccessError, SlackRateLimitedError, type ServiceContext } from './context.js';
import { homeRefreshes } from './home-refresh.js';
import { enqueueOutbox, type OutboxItem } from './outbox.js';
import { findRoleById, listRoles, pickRole, toRole, type Role } from './roles.js';


/** A request to activate an eligible role now. */
export interface ActivateRequest {
  userId: string;
  roleQuery: string;
  durationMinutes: number | undefined;
  justification: string | undefined;
  ticketSystem?: string | undefined;
  ticketNumber?: string | undefined;
}

/** An activation that has started, with its role. */
export interface ActivationResult {
  activation: ActivationRow;
  role: Role;
}

/** Either an activation that started at once, or a request filed for approval. */
export type ActivateOutcome =
  | ({ outcome: 'activated'; eligibleUntil: Date | null } & ActivationResult)
  | ({ outcome: 'requested'; approverIds: string[] } & ActivationResult);

/**
 * Activates an eligible role for the requested duration, or files a request when the role
 * requires approval. Checks eligibility, open activations and the role's rules before writing.
 * The row, its audit event and the messages and jobs it owes are committed together. `known` is
 * the role as the caller already read it; the transaction reads it again.
 */
export async function activateRole(context: ServiceContext, request: ActivateRequest, known?: Role): Promise<ActivateOutcome> {
  // User-group members come from Slack, so they are read before the transaction opens.
  const preview = known ?? pickRole(request.roleQuery, await listRoles(context.db));
  const groupMembers = preview.settings.requireApproval ? await resolveGroupMembers(context, preview, request.userId) : [];

  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    // Issued together, so the connection sends them in one round trip.
    const [role, assignment, open] = await Promise.all([
      findRoleById(tx, preview.id),
      findAssignmentInForce(tx, preview.id, request.userId, now),
      findOpenActivation(tx, preview.id, request.userId),
    ]);
    if (role === undefined) {
      throw new UserError('role_not_found', `${preview.name} was deleted a moment ago, so it cannot be activated.`, 'role');
    }
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
    rejectOpen(role, open);

    const check = checkActivationRequest(role.name, role.settings, request);
    if (!check.ok) {
      const [problem] = check.problems;
      if (problem !== undefined) throw new UserError(problem.code, problem.message, problem.field);
      throw new Error('activation request rejected without a reason');
    }
    if (role.settings.requireApproval) {
      const filed = await fileRequest(tx, context, {
        role,
        assignmentId: assignment.id,
        userId: request.userId,
        check,
        groupMembers,
        now,
      });
      return { outcome: 'requested', ...filed };
    }
    const activation = await insertActivation(tx, role, {
      assignmentId: assignment.id,
      eligibleUntil: assignment.endsAt,
      userId: request.userId,
      check,
      status: 'active',
      now,
    });
    // Sent in one round trip. Postgres runs the outbox insert first, so the chain lock is still
    // taken last.
    await Promise.all([
      enqueueOutbox(tx, [
        ...activationStartedItems(context, role, activation, undefined, assignment.endsAt),
        ...homeRefreshes([request.userId], { administrators: true }),
      ]),
      appendAudit(tx, {
        occurredAt: now,
        actorId: request.userId,
        action: 'activation.activated',
        targetType: 'activation',
        targetId: activation.id,
        roleId: role.id,
        subjectUserId: request.userId,
        reason: check.justification,
        after: describeActivation(activation),
      }),
    ]);
    return { outcome: 'activated', activation, role, eligibleUntil: assignment.endsAt };
  });
}

/**
 * Lists the members of the role's approver groups for a new request. When Slack rate-limits the
 * read, the request is not filed and the requester gets the time to wait. No list older than the
 * directory's time to live is used in its place, by design. The list decides who receives the
 * justification and ticket, and nothing can take that DM back. Lists, reminders and decisions
 * check the groups again later, so a request filed from an older list could not be decided, or
 * listed, before Slack responded again.
 */
async function resolveGroupMembers(context: ServiceContext, role: Role, requesterId: string): Promise<string[]> {
  const groupIds = role.settings.approvers.groups;
  try {
    const members = await Promise.all(groupIds.map((groupId) => listMembersOrNone(context, groupId)));
    return members.flat();
  } catch (error) {
    if (error instanceof SlackAccessError) {
      context.logger.error(
        { userId: requesterId, roleId: role.id, groupIds, slackError: error.code },
        'Slack rejected slack-pim reading approver groups; requests fail until an administrator fixes the installation',
      );
      throw new UserError('slack_access_denied', groupAccessMessage(role, error, `your request for ${role.name} was not filed`));
    }
    if (!(error instanceof SlackRateLimitedError)) throw error;
    context.logger.warn(
      { userId: requesterId, roleId: role.id, groupIds, retryAfterMs: error.retryAfterMs },
      'Slack rate-limited reading approver groups; request not filed',
    );
    throw new UserError(
      'slack_rate_limited',
      `Slack is limiting how often slack-pim may read user groups, so your request for ${role.name} could not be sent to its approvers and was not filed. Try again in ${error.retryAfterText}.`,
    );
  }
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

/** Lists the roles `userId` is eligible for at `now`, by name, without deleted roles, in one statement. */
export async function listEligibleRoles(db: Executor, userId: string, now: Date): Promise<Role[]> {
  const eligibleAssignment = db
    .select({ one: sql`1` })
    .from(assignments)
    .where(and(eq(assignments.roleId, roles.id), eq(assignments.userId, userId), eq(assignments.kind, 'eligible'), inForce(now)));
  const rows = await db
    .select()
    .from(roles)
    .where(and(isNull(roles.deletedAt), exists(eligibleAssignment)))
    .orderBy(asc(roles.name));
  return rows.map(toRole);
}

/** Lists every active activation's id and end time, to rebuild expiry jobs after Redis lost them. */
export async function listActiveActivations(db: Executor): Promise<{ id: string; endsAt: Date }[]> {
  return db
    .select({ id: activations.id, endsAt: activations.endsAt })
    .from(activations)
    .where(eq(activations.status, 'active'));
}

