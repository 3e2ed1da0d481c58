import type { KnownBlock } from '@slack/types';
import { slackDateToken } from '../../domain/dates.js';
import type { AdminDashboard } from '../../services/dashboard.js';
import type { RoleSummary } from '../../services/roles.js';
import { context, escapeMrkdwn, header, mention, section } from '../blocks.js';
import { HOME_ACTIONS } from './actions.js';
import { buttonRow, showMore } from './personal.js';

/** Roles listed on the Home tab; the whole table opens in a paged modal. */
export const ROLE_ROWS = 10;
/** Alerts and reviews listed on the Home tab. */
export const ALERT_ROWS = 5;
export const REVIEW_ROWS = 5;
/** Deactivated users named in the one section that flags them. */
const DEACTIVATED_NAMED = 10;

/** Builds the administrators' part of the Home tab: role table, alerts, reviews, activity. */
export function buildAdminSections(admin: AdminDashboard): KnownBlock[] {
  const blocks: KnownBlock[] = [{ type: 'divider' }, header('Administration')];
  blocks.push(
    context(
      admin.canChange
        ? 'You are an active Privileged Role Administrator: you can change roles, assignments and the directory.'
        : 'You are an active Security Administrator: you can see everything here, but change nothing except alerts.',
    ),
  );
  if (admin.canChange) blocks.push(adminButtons());
  blocks.push(...describeDeliveryProblems(admin));

  blocks.push(...buildRoleTable(admin.roles));
  blocks.push(...buildAlertSection(admin));
  blocks.push(...buildReviewSummarySection(admin));
  blocks.push(section(describeRecentActivity(admin)));
  if (admin.deactivatedHolders.length > 0) blocks.push(...describeDeactivated(admin));
  return blocks;
}

/** Builds warnings about messages that are not getting through; nothing when all is well. */
export function describeDeliveryProblems(admin: AdminDashboard): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  const problem = admin.securityChannelProblem;
  if (problem !== undefined) {
    blocks.push(
      section(
        `:warning: *Posts to the security channel <#${problem.channelId}> are held back* since ${slackDateToken(problem.since)}: Slack answers \`${problem.error}\`. Invite the app to the channel or fix \`PIM_SECURITY_CHANNEL\`; the held posts go out once it works.`,
      ),
    );
  }
  if (admin.failedDeliveries > 0) {
    blocks.push(
      section(
        `:warning: *${admin.failedDeliveries} message(s) or job(s) could not be delivered* after their retries. The \`outbox\` table lists them with \`failed_at\` and \`last_error\`.`,
      ),
    );
  }
  return blocks;
}

/** Builds the first rows of the role table with an Open button each, and a button to page through all. */
export function buildRoleTable(roles: readonly RoleSummary[]): KnownBlock[] {
  const blocks: KnownBlock[] = [section(`*Roles* (${roles.length}): eligible / active / permanent holders`)];
  for (const role of roles.slice(0, ROLE_ROWS)) blocks.push(roleRow(role));
  if (roles.length > ROLE_ROWS) {
    blocks.push(buttonRow(`_${roles.length - ROLE_ROWS} more roles not shown here._`, `All ${roles.length} roles`, HOME_ACTIONS.rolesPage, '0'));
  }
  return blocks;
}

/** Builds one role's row: its counts and a button to its page. */
export function roleRow(role: RoleSummary): KnownBlock {
  const builtin = role.builtin ? ' · built-in' : '';
  const text = `*${escapeMrkdwn(role.name)}* (\`${role.slug}\`${builtin})\n${role.eligibleCount} eligible · ${role.activeCount} active · ${role.permanentCount} permanent`;
  return buttonRow(text, 'Open', HOME_ACTIONS.openRole, role.id);
}

function adminButtons(): KnownBlock {
  const button = (text: string, actionId: string) => ({
    type: 'button' as const,
    action_id: actionId,
    text: { type: 'plain_text' as const, text },
    value: 'open',
  });
  return {
    type: 'actions',
    block_id: 'admin_actions',
    elements: [
      button('New role', HOME_ACTIONS.createRole),
      button('Security wizard', HOME_ACTIONS.setupWizard),
      button('Import managers', HOME_ACTIONS.importManagers),
    ],
  };
}

function buildAlertSection(admin: AdminDashboard): KnownBlock[] {
  if (admin.alerts.length === 0) return [context('*Open alerts:* none.')];
  const lines = admin.alerts.slice(0, ALERT_ROWS).map((alert) => `• ${escapeMrkdwn(alert.title)}, raised ${slackDateToken(alert.raisedAt)}`);
  const more = admin.alerts.length > ALERT_ROWS ? `\n_${admin.alerts.length - ALERT_ROWS} more._` : '';
  return [section(`*Open alerts* (${admin.alerts.length})\n${lines.join('\n')}${more}`)];
}

function buildReviewSummarySection(admin: AdminDashboard): KnownBlock[] {
  if (admin.reviews.length === 0) return [context('*Ongoing access reviews:* none.')];
  const lines = admin.reviews
    .slice(0, REVIEW_ROWS)
    .map((review) => `• ${escapeMrkdwn(review.name)}: ${review.undecidedCount} undecided, ends ${slackDateToken(review.endsAt)}`);
  const more = admin.reviews.length > REVIEW_ROWS ? `\n_${admin.reviews.length - REVIEW_ROWS} more._` : '';
  return [section(`*Ongoing access reviews* (${admin.reviews.length})\n${lines.join('\n')}${more}`)];
}

function describeRecentActivity(admin: AdminDashboard): string {
  const title = `*Activations in the last 7 days:* ${admin.recentActivationCount}`;
  if (admin.recentActivations.length === 0) return title;
  const lines = admin.recentActivations.map(
    (entry) => `• ${mention(entry.userId)} ${escapeMrkdwn(entry.roleName)}, ${slackDateToken(entry.startsAt)} (${entry.status})`,
  );
  const more = admin.recentActivationCount > lines.length ? `\n_and ${admin.recentActivationCount - lines.length} earlier._` : '';
  return `${title}\n${lines.join('\n')}${more}`;
}

function describeDeactivated(admin: AdminDashboard): KnownBlock[] {
  const named = admin.deactivatedHolders.slice(0, DEACTIVATED_NAMED);
  const lines = named.map((holder) => `• ${mention(holder.userId)}: ${holder.roleNames.map(escapeMrkdwn).join(', ')}`);
  const title = `:warning: *Deactivated Slack users who still hold roles* (${admin.deactivatedHolders.length})`;
  const text = `${title}\n${lines.join('\n')}\nRemove their assignments from each role's page.`;
  return [section(text), ...showMore('deactivated', admin.deactivatedHolders.length, DEACTIVATED_NAMED)];
}
