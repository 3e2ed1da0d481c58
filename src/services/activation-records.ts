import { and, eq, gt, inArray, isNull, lte, or } from 'drizzle-orm';
import { activations, assignments } from '../../db/schema.js';
import type { Transaction } from '../../db/client.js';
import { activationWindow, endsWithAssignment, type ActivationCheck } from '../domain/activation.js';
import { slackDateToken } from '../domain/dates.js';
import { UserError } from '../errors.js';
import type { ServiceContext } from './context.js';
import type { OutboxItem } from './outbox.js';
import type { Role } from './roles.js';

/** An activation or request row. */
export type ActivationRow = typeof activations.$inferSelect;

/** Inserts an activation or a pending request, rejecting a duplicate that won a race. */
export async function insertActivation(
  tx: Transaction,
  role: Role,
  input: {
    assignmentId: string;
    /** End of the eligible assignment; the activation ends then at the latest. */
    eligibleUntil: Date | null;
    userId: string;
    check: Extract<ActivationCheck, { ok: true }>;
    status: 'active' | 'pending_approval';
    now: Date;
    requestExpiresAt?: Date;
    nextReminderAt?: Date | null;
  },
): Promise<ActivationRow> {
  const window = activationWindow(input.now, input.check.durationMinutes, input.eligibleUntil);
  const [activation] = await tx
    .insert(activations)
    .values({
      roleId: role.id,
      userId: input.userId,
      assignmentId: input.assignmentId,
      status: input.status,
      requestedAt: input.now,
      startsAt: window.startsAt,
      endsAt: window.endsAt,
      durationMinutes: window.durationMinutes,
      justification: input.check.justification,
      ticketSystem: input.check.ticketSystem,
      ticketNumber: input.check.ticketNumber,
      requestExpiresAt: input.requestExpiresAt ?? null,
      nextReminderAt: input.nextReminderAt ?? null,
    })
    .onConflictDoNothing()
    .returning();
  if (activation === undefined) {
    // Another request for the same role won the partial unique index a moment ago.
    await refuseIfOpen(tx, role, input.userId);
    throw new Error(`activation of role ${role.id} for ${input.userId} conflicted but no open one was found`);
  }
  return activation;
}

/** Returns the fields of an activation that audit events record. */
export function describeActivation(activation: ActivationRow): Record<string, unknown> {
  return {
    status: activation.status,
    startsAt: activation.startsAt.toISOString(),
    endsAt: activation.endsAt.toISOString(),
    durationMinutes: activation.durationMinutes,
    ticketSystem: activation.ticketSystem,
    ticketNumber: activation.ticketNumber,
  };
}

/** Filters assignments to the current ones in force at `now`. */
export function inForce(now: Date) {
  return and(
    eq(assignments.status, 'current'),
    lte(assignments.startsAt, now),
    or(isNull(assignments.endsAt), gt(assignments.endsAt, now)),
  );
}

/**
 * Finds the user's current assignment of a role that is in force at `now`, and locks it FOR SHARE
 * until the caller's transaction ends. A removal or expiry updates the row before it ends open
 * activations, so it either waits and then ends the activation this transaction starts, or this
 * read waits and finds the assignment gone.
 */
export async function findAssignmentInForce(tx: Transaction, roleId: string, userId: string, now: Date) {
  const [row] = await tx
    .select()
    .from(assignments)
    .where(and(eq(assignments.roleId, roleId), eq(assignments.userId, userId), inForce(now)))
    .for('share');
  return row;
}

/** Finds the user's active activation or pending request for the role, if any. */
export async function findOpenActivation(tx: Transaction, roleId: string, userId: string) {
  const [open] = await tx
    .select({ status: activations.status, endsAt: activations.endsAt })
    .from(activations)
    .where(
      and(
        eq(activations.roleId, roleId),
        eq(activations.userId, userId),
        inArray(activations.status, ['active', 'pending_approval']),
      ),
    );
  return open;
}

/** Throws `already_open` for an open activation or request that `findOpenActivation` found. */
export function rejectOpen(role: Role, open: { status: string; endsAt: Date } | undefined): void {
  if (open === undefined) return;
  const message =
    open.status === 'active'
      ? `${role.name} is already active for you until ${slackDateToken(open.endsAt)}.`
      : `You already have a request for ${role.name} waiting for approval.`;
  throw new UserError('already_open', message, 'role');
}

/** Throws `already_open` when the user has an active activation or pending request for the role. */
export async function refuseIfOpen(tx: Transaction, role: Role, userId: string): Promise<void> {
  rejectOpen(role, await findOpenActivation(tx, role.id, userId));
}

/**
 * Builds the outbox rows an activation owes when it starts: DM, expiry job and security post.
 * `eligibleUntil` is the end of the eligible assignment, so the messages can state that the
 * activation ends early because of it.
 */
export function activationStartedItems(
  context: ServiceContext,
  role: Role,
  activation: ActivationRow,
  approvedBy: string | undefined,
  eligibleUntil: Date | null,
): OutboxItem[] {
  const endsWithEligibility = endsWithAssignment(activation, eligibleUntil);
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
          approvedBy: approvedBy ?? null,
          endsWithEligibility,
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
          ticket: formatTicket(activation),
          approvedBy: approvedBy ?? null,
          endsWithEligibility,
        },
      },
    });
  }
  return items;
}

/** Formats an activation's ticket as `SYSTEM NUMBER`, or `null` without one. */
export function formatTicket(activation: { ticketSystem: string | null; ticketNumber: string | null }): string | null {
  if (activation.ticketSystem === null && activation.ticketNumber === null) return null;
  return [activation.ticketSystem, activation.ticketNumber].filter((part) => part !== null).join(' ');
}
