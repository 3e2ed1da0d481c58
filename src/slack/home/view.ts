import type { KnownBlock, View } from '@slack/types';
import type { Dashboard, ReviewItem } from '../../services/dashboard.js';
import { context, escapeMrkdwn, header, mention, section, VIEW_BLOCK_LIMIT } from '../blocks.js';
import { slackDateToken } from '../../domain/dates.js';
import { buildAdminSections } from './admin.js';
import { buildApprovalSection, buildPersonalSections } from './personal.js';

/** Review items listed on the Home tab. */
export const REVIEW_ITEM_ROWS = 5;

/**
 * Builds the Home tab for one viewer: their roles for everyone, requests waiting for approvers,
 * review items for reviewers, and the administration part for active Privileged Role
 * Administrators and Security Administrators. Each section shows a bounded number of rows and
 * a "show all" button for the rest, so the view stays within Slack's 100 blocks.
 */
export function buildHomeView(dashboard: Dashboard): View {
  const blocks: KnownBlock[] = [
    header('Privileged access'),
    context('Roles you hold now, roles you can activate, and what waits for you. Type `/pim help` for commands.'),
    ...buildPersonalSections(dashboard.status),
    ...buildApprovalSection(dashboard.approvals, dashboard.uncheckedApprovals),
    ...buildReviewItemSection(dashboard.reviewItems),
    ...(dashboard.admin === undefined ? [] : buildAdminSections(dashboard.admin)),
  ];
  return { type: 'home', blocks: fitToViewLimit(blocks) };
}

/**
 * Keeps a view within VIEW_BLOCK_LIMIT. The section limits keep the Home tab under it by
 * construction, so this only guards against a future section that forgets its limit, and
 * then it says so in the last block rather than failing the whole publish.
 */
export function fitToViewLimit(blocks: KnownBlock[]): KnownBlock[] {
  if (blocks.length <= VIEW_BLOCK_LIMIT) return blocks;
  return [...blocks.slice(0, VIEW_BLOCK_LIMIT - 1), context(`${blocks.length - VIEW_BLOCK_LIMIT + 1} more rows do not fit here; use \`/pim status\` and \`/pim roles\`.`)];
}

function buildReviewItemSection(items: readonly ReviewItem[]): KnownBlock[] {
  if (items.length === 0) return [];
  const lines = items
    .slice(0, REVIEW_ITEM_ROWS)
    .map((item) => `• ${mention(item.subjectUserId)} in ${escapeMrkdwn(item.roleName)} (${escapeMrkdwn(item.reviewName)}, ends ${slackDateToken(item.endsAt)})`);
  const more = items.length > REVIEW_ITEM_ROWS ? `\n_${items.length - REVIEW_ITEM_ROWS} more._` : '';
  return [{ type: 'divider' }, section(`*Access review decisions waiting for you* (${items.length})\n${lines.join('\n')}${more}`)];
}
