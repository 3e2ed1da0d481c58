import type { KnownBlock, View } from '@slack/types';
import { slackDateToken } from '../../domain/dates.js';
import type { Dashboard } from '../../services/dashboard.js';
import { uncheckedRequestsNote } from '../approval-messages.js';
import { context, escapeMrkdwn, mention, section } from '../blocks.js';
import { HOME_ACTIONS, type HomeListKind, type HomeListValue } from './actions.js';

/** `callback_id` of the modal that shows a whole Home list. */
export const HOME_LIST_CALLBACK_ID = 'home_list';
/** Lines per section, well under the 3,000-character section limit, and sections per page. */
const LINES_PER_SECTION = 20;
const SECTIONS_PER_PAGE = 10;
const LINES_PER_PAGE = LINES_PER_SECTION * SECTIONS_PER_PAGE;

const TITLES: Record<HomeListKind, string> = {
  active: 'Active roles',
  eligible: 'Eligible roles',
  pending: 'Your requests',
  approvals: 'Requests for you',
  deactivated: 'Deactivated users',
};

const HINTS: Record<HomeListKind, string> = {
  active: 'End one early with `/pim deactivate <role>`.',
  eligible: 'Activate one with `/pim activate <role>`.',
  pending: 'Cancel one with `/pim cancel <role>`.',
  approvals: 'Decide them with `/pim requests`, oldest first.',
  deactivated: "Remove their assignments from each role's page.",
};

/** Builds one page of a Home list as a modal, with Previous and Next buttons when it has several. */
export function buildListModal(dashboard: Dashboard, value: HomeListValue): View {
  const lines = listLines(dashboard, value.kind);
  const pageCount = Math.max(1, Math.ceil(lines.length / LINES_PER_PAGE));
  const page = Math.min(Math.max(0, value.page), pageCount - 1);
  const pageLines = lines.slice(page * LINES_PER_PAGE, (page + 1) * LINES_PER_PAGE);
  const blocks: KnownBlock[] = [context(`${lines.length} in all. ${HINTS[value.kind]}`)];
  for (let start = 0; start < pageLines.length; start += LINES_PER_SECTION) {
    blocks.push(section(pageLines.slice(start, start + LINES_PER_SECTION).join('\n')));
  }
  if (lines.length === 0) blocks.push(section('Nothing to show.'));
  if (value.kind === 'approvals' && dashboard.uncheckedApprovals !== undefined) {
    blocks.push(context(uncheckedRequestsNote(dashboard.uncheckedApprovals)));
  }
  blocks.push(...pageButtons(HOME_ACTIONS.showMore, page, pageCount, (target) => JSON.stringify({ kind: value.kind, page: target })));
  return {
    type: 'modal',
    callback_id: HOME_LIST_CALLBACK_ID,
    title: { type: 'plain_text', text: TITLES[value.kind] },
    close: { type: 'plain_text', text: 'Close' },
    blocks,
  };
}

/** Builds "Page x of n" with Previous and Next buttons whose values come from `valueOf`. */
export function pageButtons(actionId: string, page: number, pageCount: number, valueOf: (page: number) => string): KnownBlock[] {
  if (pageCount <= 1) return [];
  const elements = [];
  if (page > 0) {
    elements.push({ type: 'button' as const, action_id: `${actionId}_previous`, text: { type: 'plain_text' as const, text: 'Previous' }, value: valueOf(page - 1) });
  }
  if (page < pageCount - 1) {
    elements.push({ type: 'button' as const, action_id: `${actionId}_next`, text: { type: 'plain_text' as const, text: 'Next' }, value: valueOf(page + 1) });
  }
  return [context(`Page ${page + 1} of ${pageCount}`), { type: 'actions', block_id: 'pages', elements }];
}

function listLines(dashboard: Dashboard, kind: HomeListKind): string[] {
  const until = (endsAt: Date | null) => (endsAt === null ? 'permanent' : `until ${slackDateToken(endsAt)}`);
  switch (kind) {
    case 'active':
      return dashboard.status.active.map((entry) => `• *${escapeMrkdwn(entry.roleName)}* ${until(entry.endsAt)}`);
    case 'eligible':
      return dashboard.status.eligible.map((entry) => `• *${escapeMrkdwn(entry.roleName)}* (\`${entry.roleSlug}\`) ${until(entry.endsAt)}`);
    case 'pending':
      return dashboard.status.pending.map((entry) => `• *${escapeMrkdwn(entry.roleName)}*, requested ${slackDateToken(entry.requestedAt)}`);
    case 'approvals':
      return dashboard.approvals.map(
        ({ activation, roleName }) => `• ${mention(activation.userId)}: *${escapeMrkdwn(roleName)}*, since ${slackDateToken(activation.requestedAt)}`,
      );
    case 'deactivated':
      return (dashboard.admin?.deactivatedHolders ?? []).map(
        (holder) => `• ${mention(holder.userId)}: ${holder.roleNames.map(escapeMrkdwn).join(', ')}`,
      );
  }
}
