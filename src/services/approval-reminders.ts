import { and, eq } from 'drizzle-orm';
import { activations, approvalApprovers } from '../../db/schema.js';
import type { Transaction } from '../../db/client.js';
import { nextReminderAt } from '../domain/approval.js';
import { listActivePraIds } from './access.js';
import type { ActivationRow } from './activation-records.js';
import { readActivation, readRole, type TimerOutcome } from './approvals.js';
import {
  groupMemberStatus,
  readGroupMembership,
  stillApprover,
  unlistedGroups,
  type GroupMembership,
} from './approver-membership.js';
import { appendAudit, SYSTEM_ACTOR } from './audit.js';
import { SlackRateLimitedError, type ServiceContext } from './context.js';
import { enqueueOutbox, type OutboxItem } from './outbox.js';
import type { Role } from './roles.js';

/**
 * How long after its due time a reminder waits for approver groups that Slack cannot list. Slack
 * counts its rate limits per minute, so a 429 has passed well within this. A longer failure (an
 * outage, a missing scope) should not hold back the reminder of the other approvers for longer,
 * so the reminder then goes without the group members.
 */
export const REMINDER_GROUP_WAIT_MS = 5 * 60_000;
/** Delay before reading the groups again after a failure that came without a Retry-After. */
const GROUP_RETRY_DELAY_MS = 30_000;
/** Reminder attempts that may each find the role's approver groups changed since the last read. */
const GROUP_READ_ATTEMPTS = 3;

/** Signal from a reminder's transaction that it needs the members of these groups before it can send. */
interface GroupsNeeded {
  outcome: 'groups_needed';
  groupIds: string[];
}

/** A due reminder's recipients, sorted out from the request's recorded approvers. */
interface Recipients {
  reminded: string[];
  /** Group members whose groups Slack could not list. */
  unchecked: string[];
  uncheckedGroupIds: string[];
}

/**
 * Reminds the approvers of a request whose reminder is due who may still decide it, and
 * schedules the next reminder at twice the previous interval. The reminder count in the
 * conditional update makes a repeated job or a racing sweep send each reminder once.
 *
 * Members of approver groups are reminded only while Slack lists them in one of the role's
 * groups, read through the directory outside any transaction. When Slack cannot list a group
 * (a 429, an error), nothing is sent and the function returns `retry_later`, after the
 * Retry-After or 30 seconds, for up to {@link REMINDER_GROUP_WAIT_MS} past the due time. A reminder names the
 * requester, role and times, and someone who may have left the group must not receive it. After
 * that wait the reminder goes to the other approvers, and the audit event names the group members
 * left out.
 */
export async function sendDueReminder(context: ServiceContext, activationId: string): Promise<TimerOutcome> {
  let membership: GroupMembership | undefined;
  for (let attempt = 1; attempt <= GROUP_READ_ATTEMPTS; attempt += 1) {
    const result = await remindOnce(context, activationId, membership);
    if (result.outcome !== 'groups_needed') return result;
    membership = await readGroupMembership(context, result.groupIds);
  }
  const retryAt = new Date(context.clock.now().getTime() + GROUP_RETRY_DELAY_MS);
  context.logger.warn({ activationId, attempts: GROUP_READ_ATTEMPTS }, 'approver groups changed during each reminder attempt; reminder postponed');
  return { outcome: 'retry_later', retryAt };
}

/**
 * Runs one reminder transaction. Returns `groups_needed`, having written nothing, when group
 * members are among the approvers and `membership` lacks one of the role's groups.
 */
async function remindOnce(
  context: ServiceContext,
  activationId: string,
  membership: GroupMembership | undefined,
): Promise<TimerOutcome | GroupsNeeded> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const current = await readActivation(tx, activationId);
    if (current?.status !== 'pending_approval' || current.nextReminderAt === null || current.requestExpiresAt === null) {
      return { outcome: 'nothing_to_do' };
    }
    const dueAt = current.nextReminderAt;
    if (dueAt.getTime() > now.getTime()) return { outcome: 'not_due', dueAt };

    const role = await readRole(tx, current.roleId);
    const approvers = await tx
      .select({ approverId: approvalApprovers.approverId, source: approvalApprovers.source })
      .from(approvalApprovers)
      .where(eq(approvalApprovers.activationId, activationId));
    // Approvers removed from the role since the request was filed can no longer decide it.
    const stillApprovers = approvers.filter((approver) => stillApprover(role, approver.approverId, approver.source));
    const hasGroupMembers = stillApprovers.some((approver) => approver.source === 'group');
    if (hasGroupMembers && (membership === undefined || role.settings.approvers.groups.some((id) => !readOrFailed(membership, id)))) {
      return { outcome: 'groups_needed', groupIds: role.settings.approvers.groups };
    }

    // Administrators asked as such are reminded only while the role is active for them, as the
    // lists show these requests only to them.
    const activePras = stillApprovers.some((approver) => approver.source === 'pra') ? new Set(await listActivePraIds(tx, now)) : new Set<string>();
    const recipients = sortRecipients(role, stillApprovers, activePras, membership);
    if (recipients.unchecked.length > 0) {
      const postponed = postponement(context, { activationId, role, dueAt, now, membership, recipients });
      if (postponed !== undefined) return postponed;
    }
    return send(tx, { current, role, now, recipients });
  });
}

function readOrFailed(membership: GroupMembership, groupId: string): boolean {
  return membership.members.has(groupId) || membership.failures.has(groupId);
}

function sortRecipients(
  role: Role,
  approvers: { approverId: string; source: 'user' | 'group' | 'pra' }[],
  activePras: ReadonlySet<string>,
  membership: GroupMembership | undefined,
): Recipients {
  const recipients: Recipients = { reminded: [], unchecked: [], uncheckedGroupIds: [] };
  for (const approver of approvers) {
    if (approver.source === 'pra' && !activePras.has(approver.approverId)) continue;
    if (approver.source !== 'group' || membership === undefined) {
      recipients.reminded.push(approver.approverId);
      continue;
    }
    const status = groupMemberStatus(role, approver.approverId, membership);
    if (status === 'member') recipients.reminded.push(approver.approverId);
    else if (status === 'unknown') recipients.unchecked.push(approver.approverId);
  }
  if (membership !== undefined) recipients.uncheckedGroupIds = unlistedGroups(role, membership);
  return recipients;
}

/**
 * Returns `retry_later` while the reminder may still wait for the groups Slack could not list,
 * or `undefined` once it has waited {@link REMINDER_GROUP_WAIT_MS} and goes without those members.
 */
function postponement(
  context: ServiceContext,
  input: { activationId: string; role: Role; dueAt: Date; now: Date; membership: GroupMembership | undefined; recipients: Recipients },
): TimerOutcome | undefined {
  const { activationId, role, dueAt, now, recipients } = input;
  const failures = [...(input.membership?.failures.values() ?? [])];
  const ids = { activationId, roleId: role.id, groupIds: recipients.uncheckedGroupIds };
  const waitedMs = now.getTime() - dueAt.getTime();
  if (waitedMs >= REMINDER_GROUP_WAIT_MS) {
    context.logger.warn(
      { ...ids, approverIds: recipients.unchecked, waitedMs, err: failures[0] },
      'approver groups still unreadable in Slack; reminder sent without their members',
    );
    return undefined;
  }
  const retryAfterMs = Math.max(
    0,
    ...failures.map((error) => (error instanceof SlackRateLimitedError ? error.retryAfterMs : GROUP_RETRY_DELAY_MS)),
  );
  const delayMs = Math.max(1_000, Math.min(retryAfterMs, REMINDER_GROUP_WAIT_MS - waitedMs));
  context.logger.warn({ ...ids, retryAfterMs: delayMs, err: failures[0] }, 'approver groups unreadable in Slack; reminder postponed');
  return { outcome: 'retry_later', retryAt: new Date(now.getTime() + delayMs) };
}

async function send(
  tx: Transaction,
  input: { current: ActivationRow; role: Role; now: Date; recipients: Recipients },
): Promise<TimerOutcome> {
  const { current, role, now, recipients } = input;
  const expiresAt = current.requestExpiresAt ?? now;
  const sent = current.remindersSent + 1;
  const next = nextReminderAt(current.requestedAt, sent, expiresAt);
  const [updated] = await tx
    .update(activations)
    .set({ remindersSent: sent, nextReminderAt: next })
    .where(
      and(
        eq(activations.id, current.id),
        eq(activations.status, 'pending_approval'),
        eq(activations.remindersSent, current.remindersSent),
      ),
    )
    .returning();
  if (updated === undefined) return { outcome: 'nothing_to_do' };

  const items: OutboxItem[] = recipients.reminded.map((approverId) => ({
    kind: 'notice',
    payload: {
      to: { userId: approverId },
      notice: {
        type: 'approval_reminder',
        activationId: current.id,
        requesterId: updated.userId,
        roleName: role.name,
        requestedAt: updated.requestedAt.toISOString(),
        expiresAt: expiresAt.toISOString(),
      },
    },
  }));
  if (next !== null) {
    items.push({ kind: 'request_timer', payload: { activationId: current.id, timer: 'remind', at: next.toISOString(), sequence: sent } });
  }
  await enqueueOutbox(tx, items);
  await appendAudit(tx, {
    occurredAt: now,
    actorId: SYSTEM_ACTOR,
    action: 'request.reminded',
    targetType: 'activation',
    targetId: current.id,
    roleId: role.id,
    subjectUserId: updated.userId,
    after: {
      remindersSent: sent,
      approvers: recipients.reminded,
      ...(recipients.unchecked.length === 0 ? {} : { uncheckedGroupMembers: recipients.unchecked }),
      nextReminderAt: next?.toISOString() ?? null,
    },
  });
  return { outcome: 'done' };
}
