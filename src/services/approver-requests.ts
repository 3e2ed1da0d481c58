import { and, eq, gt } from 'drizzle-orm';
import { activations, approvalApprovers, roles } from '../../db/schema.js';
import type { Database, Executor } from '../../db/client.js';
import { readAccess } from './access.js';
import type { ActivationRow } from './activation-records.js';
import {
  groupMemberStatus,
  readGroupMembership,
  stillApprover,
  type GroupMembership,
  type GroupMemberStatus,
  type GroupSource,
} from './approver-membership.js';
import { SlackRateLimitedError } from './context.js';
import { homeRefreshes } from './home-refresh.js';
import { enqueueOutbox } from './outbox.js';
import { toRole } from './roles.js';

/** A pending request with its role name, as listed to an approver. */
export interface PendingRequest {
  activation: ActivationRow;
  roleName: string;
}

/** Requests left out of a list because Slack could not list the approver groups they were sent through. */
export interface UncheckedRequests {
  count: number;
  /** Slack's Retry-After in seconds when it rate-limited the read, otherwise `undefined`. */
  retryAfterSeconds: number | undefined;
}

/** The requests waiting for an approver, and those that could not be checked with Slack. */
export interface ApproverRequests {
  requests: PendingRequest[];
  unchecked: UncheckedRequests | undefined;
}

/**
 * Lists the pending requests that `approverId` may decide at `now`, oldest first. These are the
 * requests sent to them that are still within their decision window. Left out are requests of
 * roles whose approvers no longer include them, and requests sent to them as an administrator
 * while that role is not active for them. So are requests sent to them as a member of an approver
 * group that Slack no longer lists them in.
 *
 * The role's approver groups are read through `groups`, once each however many requests name
 * them, and only when the list has a request sent through a group. When Slack cannot list a
 * group (a 429, an outage), the requests that depend on it are left out and counted in
 * `unchecked`, so that someone who may have left the group gets no request details while the
 * rest of the list still shows. A current member still has the request's DM, and deciding
 * needs Slack's list anyway. Without `groups`, every such request is counted as unchecked.
 */
export async function listRequestsForApprover(
  db: Executor,
  approverId: string,
  now: Date,
  groups: GroupSource | undefined,
): Promise<ApproverRequests> {
  const rows = await db
    .select({ activation: activations, role: roles, source: approvalApprovers.source })
    .from(approvalApprovers)
    .innerJoin(activations, eq(activations.id, approvalApprovers.activationId))
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(
      and(
        eq(approvalApprovers.approverId, approverId),
        eq(activations.status, 'pending_approval'),
        gt(activations.requestExpiresAt, now),
      ),
    )
    .orderBy(activations.requestedAt);
  const current = rows
    .map((row) => ({ ...row, role: toRole(row.role) }))
    .filter((row) => stillApprover(row.role, approverId, row.source));
  const isActivePra = current.some((row) => row.source === 'pra') && (await readAccess(db, approverId, now)).isActivePra;
  const listed = current.filter((row) => row.source !== 'pra' || isActivePra);

  const groupRows = listed.filter((row) => row.source === 'group');
  const membership =
    groupRows.length === 0 || groups === undefined
      ? undefined
      : await readGroupMembership(groups, groupRows.flatMap((row) => row.role.settings.approvers.groups));
  const requests: PendingRequest[] = [];
  let uncheckedCount = 0;
  for (const row of listed) {
    let status: GroupMemberStatus = 'member';
    if (row.source === 'group') status = membership === undefined ? 'unknown' : groupMemberStatus(row.role, approverId, membership);
    if (status === 'member') requests.push({ activation: row.activation, roleName: row.role.name });
    else if (status === 'unknown') uncheckedCount += 1;
  }
  if (uncheckedCount === 0) return { requests, unchecked: undefined };
  if (membership !== undefined && groups !== undefined) logUnchecked(groups, approverId, uncheckedCount, membership);
  return { requests, unchecked: { count: uncheckedCount, retryAfterSeconds: retryAfterSeconds(membership) } };
}

/** Whether an approver recorded on a request may still decide it, as far as Slack could tell. */
export type ApproverStanding =
  | { status: 'approver' }
  | { status: 'former' }
  /** A group the approver was asked through could not be listed; `retryAfterMs` when Slack rate-limited the read. */
  | { status: 'unchecked'; retryAfterMs: number | undefined; error: unknown };

/**
 * Checks that `approverId` may still decide the request under the role's current settings, as
 * {@link listRequestsForApprover} does for one request: still named, still in one of the role's
 * approver groups (read through `groups`) or still an active administrator, by the way they were
 * asked. Run it before showing the request to them where the outbox may have waited, so that
 * someone removed meanwhile does not get its details.
 */
export async function checkApproverStanding(
  db: Executor,
  groups: GroupSource,
  activationId: string,
  approverId: string,
  now: Date,
): Promise<ApproverStanding> {
  const [row] = await db
    .select({ role: roles, source: approvalApprovers.source })
    .from(approvalApprovers)
    .innerJoin(activations, eq(activations.id, approvalApprovers.activationId))
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(and(eq(approvalApprovers.activationId, activationId), eq(approvalApprovers.approverId, approverId)));
  if (row === undefined) return { status: 'former' };
  const role = toRole(row.role);
  if (!stillApprover(role, approverId, row.source)) return { status: 'former' };
  if (row.source === 'pra') {
    return (await readAccess(db, approverId, now)).isActivePra ? { status: 'approver' } : { status: 'former' };
  }
  if (row.source === 'user') return { status: 'approver' };

  const membership = await readGroupMembership(groups, role.settings.approvers.groups);
  const status = groupMemberStatus(role, approverId, membership);
  if (status === 'member') return { status: 'approver' };
  if (status === 'former') return { status: 'former' };
  const error = [...membership.failures.values()][0];
  const waits = [...membership.failures.values()].flatMap((failure) =>
    failure instanceof SlackRateLimitedError ? [failure.retryAfterMs] : [],
  );
  return { status: 'unchecked', retryAfterMs: waits.length === 0 ? undefined : Math.max(...waits), error };
}

/**
 * Queues a Home tab refresh for everyone asked through an approver group of a pending request
 * whose role names `groupId`. Call it after Slack reported a change of that group, so that a
 * member who left stops seeing those requests on a tab published before. Returns how many
 * approvers it queued.
 */
export async function refreshGroupApproverHomes(db: Database, groupId: string): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .select({ approverId: approvalApprovers.approverId, role: roles })
      .from(approvalApprovers)
      .innerJoin(activations, eq(activations.id, approvalApprovers.activationId))
      .innerJoin(roles, eq(roles.id, activations.roleId))
      .where(and(eq(approvalApprovers.source, 'group'), eq(activations.status, 'pending_approval')));
    const approverIds = new Set(
      rows.filter((row) => toRole(row.role).settings.approvers.groups.includes(groupId)).map((row) => row.approverId),
    );
    if (approverIds.size > 0) await enqueueOutbox(tx, homeRefreshes(approverIds));
    return approverIds.size;
  });
}

function logUnchecked(groups: GroupSource, approverId: string, count: number, membership: GroupMembership): void {
  const failures = [...membership.failures];
  groups.logger.warn(
    { approverId, groupIds: failures.map(([groupId]) => groupId), uncheckedRequests: count, err: failures[0]?.[1] },
    'approver groups unreadable in Slack; their requests left out of the list',
  );
}

function retryAfterSeconds(membership: GroupMembership | undefined): number | undefined {
  const waits = [...(membership?.failures.values() ?? [])].flatMap((error) =>
    error instanceof SlackRateLimitedError ? [error.retryAfterSeconds] : [],
  );
  return waits.length === 0 ? undefined : Math.max(...waits);
}
