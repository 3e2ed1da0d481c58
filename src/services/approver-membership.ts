import type { Logger } from '../logger.js';
import { UnknownUserGroupError, type Directory } from './context.js';
import type { Role } from './roles.js';

/** Members of a role's approver groups as Slack listed them, by group id. */
export type GroupMembers = ReadonlyMap<string, readonly string[]>;

/** Approver groups read from Slack: the members of each group listed, and the error of each group that was not. */
export interface GroupMembership {
  members: GroupMembers;
  failures: ReadonlyMap<string, unknown>;
}

/** Source of group members: the directory, which caches Slack's lists, and a logger for failed reads. */
export interface GroupSource {
  directory: Directory;
  logger: Logger;
}

/**
 * Whether a group-sourced approver is still in one of the role's approver groups: `member`,
 * `former` when every group was listed without them, or `unknown` when they are in none of the
 * groups listed and some group could not be listed.
 */
export type GroupMemberStatus = 'member' | 'former' | 'unknown';

/**
 * Reports whether a recorded approver is still one under the role's current settings, so that
 * removing someone from a role's approvers also takes away the requests already sent to them. A
 * group member passes while the role names any user group. Whether they are still in one of
 * those groups is a question for Slack: see {@link groupMemberStatus}.
 */
export function stillApprover(role: Role, approverId: string, source: 'user' | 'group' | 'pra'): boolean {
  const { users, groups } = role.settings.approvers;
  switch (source) {
    case 'user':
      return users.includes(approverId);
    case 'group':
      return groups.length > 0;
    case 'pra':
      // Administrators are approvers only when the role names no users and no groups.
      return users.length + groups.length === 0;
  }
}

/**
 * Lists a user group's members, or none when Slack has no such group: a group deleted in Slack
 * has no members left, so the role's other groups still count.
 */
export async function listMembersOrNone(source: GroupSource, groupId: string): Promise<string[]> {
  try {
    return await source.directory.listUserGroupMembers(groupId);
  } catch (error) {
    if (!(error instanceof UnknownUserGroupError)) throw error;
    return [];
  }
}

/**
 * Reads each of `groupIds` once, all at the same time. A group that cannot be read, because Slack
 * rate-limited the read or failed, is recorded in `failures` and the others are still listed.
 * Call it outside any transaction, since the read may wait for Slack.
 */
export async function readGroupMembership(source: GroupSource, groupIds: Iterable<string>): Promise<GroupMembership> {
  const ids = [...new Set(groupIds)];
  const results = await Promise.allSettled(ids.map((groupId) => listMembersOrNone(source, groupId)));
  const members = new Map<string, readonly string[]>();
  const failures = new Map<string, unknown>();
  results.forEach((result, index) => {
    const groupId = ids[index] ?? '';
    if (result.status === 'fulfilled') members.set(groupId, result.value);
    else failures.set(groupId, result.reason);
  });
  return { members, failures };
}

/** Returns whether `approverId` is in one of the role's current approver groups, as `membership` lists them. */
export function groupMemberStatus(role: Role, approverId: string, membership: GroupMembership): GroupMemberStatus {
  const { groups } = role.settings.approvers;
  if (groups.some((groupId) => membership.members.get(groupId)?.includes(approverId))) return 'member';
  return groups.every((groupId) => membership.members.has(groupId)) ? 'former' : 'unknown';
}

/** Lists the role's approver groups that `membership` did not list: unread, or failed. */
export function unlistedGroups(role: Role, membership: GroupMembership): string[] {
  return role.settings.approvers.groups.filter((groupId) => !membership.members.has(groupId));
}
