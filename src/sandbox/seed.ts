/**
 * The sandbox's story: four people with distinct parts in an activation, a #general channel, a
 * private security channel and a user group, and the assignments and role settings that let the
 * story run: Alex activates Global Administrator, Morgan approves, Sam reads the security post. The
 * workspace is set directly. Roles and assignments go through the services, as an administrator's
 * commands would, so they carry audit events and notices.
 */
import { UserError } from '../errors.js';
import { GLOBAL_ADMINISTRATOR, SECURITY_ADMINISTRATOR } from '../domain/roles.js';
import { assignRole } from '../services/assignments.js';
import type { ServiceContext } from '../services/context.js';
import { updateRoleSettings } from '../services/role-settings.js';
import { findRoleBySlug } from '../services/roles.js';
import type { Workspace, WorkspaceUser } from './workspace.js';

/** The people of the sandbox story, by part. */
export const SANDBOX_PEOPLE = {
  /** Permanent Privileged Role Administrator, bootstrapped like an id in PIM_ADMINS. */
  administrator: {
    id: 'U0PRIYA',
    name: 'priya',
    realName: 'Priya Raman',
    title: 'IT security lead · Privileged Role Administrator',
    tz: 'Europe/London',
  },
  /** Eligible for Global Administrator and Billing Administrator; activates them when needed. */
  eligibleAdmin: {
    id: 'U0ALEX',
    name: 'alex',
    realName: 'Alex Kim',
    title: 'Site reliability engineer · eligible admin',
    tz: 'America/New_York',
  },
  /** Alex's manager, who approves Global Administrator activations. */
  manager: {
    id: 'U0MORGAN',
    name: 'morgan',
    realName: 'Morgan Lee',
    title: 'Engineering manager · approver',
    tz: 'America/Chicago',
  },
  /** Reads the security channel; eligible for Security Administrator. */
  securityAnalyst: {
    id: 'U0SAM',
    name: 'sam',
    realName: 'Sam Okafor',
    title: 'Security analyst',
    tz: 'Europe/Berlin',
  },
} as const satisfies Record<string, WorkspaceUser & { name: string; realName: string }>;

export const SANDBOX_BOT_USER_ID = 'U0PIMBOT';
export const SANDBOX_BOT_ID = 'B0PIMBOT';
export const SANDBOX_TEAM_ID = 'T0SANDBOX';
export const GENERAL_CHANNEL_ID = 'C0GENERAL';
export const SECURITY_CHANNEL_ID = 'C0SECURITY';
export const SECURITY_TEAM_GROUP_ID = 'S0SECTEAM';

/** Adds the people, channels and user group of the story to the workspace. */
export function seedWorkspace(workspace: Workspace): void {
  // The page lists people in this order, which is the order of the walkthrough.
  const { eligibleAdmin, manager, securityAnalyst, administrator } = SANDBOX_PEOPLE;
  for (const person of [eligibleAdmin, manager, securityAnalyst, administrator]) workspace.setUser(person);
  workspace.setUser({ id: SANDBOX_BOT_USER_ID, name: 'pim', realName: 'pim', isBot: true });
  workspace.setChannel({
    id: GENERAL_CHANNEL_ID,
    name: 'general',
    isPrivate: false,
    topic: 'Company-wide announcements. Type /pim help in any conversation.',
  });
  workspace.setChannel({
    id: SECURITY_CHANNEL_ID,
    name: 'security-alerts',
    isPrivate: true,
    memberIds: [SANDBOX_PEOPLE.administrator.id, SANDBOX_PEOPLE.securityAnalyst.id, SANDBOX_BOT_USER_ID],
    topic: 'slack-pim posts every activation and alert here.',
  });
  workspace.setUserGroup(SECURITY_TEAM_GROUP_ID, [SANDBOX_PEOPLE.administrator.id, SANDBOX_PEOPLE.securityAnalyst.id], {
    handle: 'security-team',
    name: 'Security team',
  });
}

/**
 * Makes the story's assignments, as the administrator would with `/pim assign`, and on a fresh
 * database makes Global Administrator require the manager's approval, as the administrator would
 * in the role settings modal. Runs on every start: an assignment that exists already is left as
 * it is, and so are settings an administrator changed since.
 */
export async function seedStory(context: ServiceContext): Promise<void> {
  const { administrator, eligibleAdmin, manager, securityAnalyst } = SANDBOX_PEOPLE;
  const assignments = [
    { assigneeId: eligibleAdmin.id, roleQuery: GLOBAL_ADMINISTRATOR, reason: 'Runs production infrastructure on call' },
    { assigneeId: eligibleAdmin.id, roleQuery: 'billing-administrator', reason: 'Renews the cloud subscriptions' },
    { assigneeId: securityAnalyst.id, roleQuery: SECURITY_ADMINISTRATOR, reason: 'Handles security alerts' },
  ];
  let fresh = false;
  for (const assignment of assignments) {
    try {
      await assignRole(context, { actorId: administrator.id, kind: 'eligible', endsAt: null, ...assignment });
      fresh ||= assignment.roleQuery === GLOBAL_ADMINISTRATOR;
    } catch (error) {
      if (!(error instanceof UserError && error.code === 'assignment_exists')) throw error;
    }
  }
  if (!fresh) return;

  const globalAdministrator = await findRoleBySlug(context.db, GLOBAL_ADMINISTRATOR);
  if (globalAdministrator === undefined) throw new Error('the built-in Global Administrator role is missing');
  await updateRoleSettings(context, {
    actorId: administrator.id,
    roleId: globalAdministrator.id,
    settings: { ...globalAdministrator.settings, requireApproval: true, approvers: { users: [manager.id], groups: [] } },
  });
}
