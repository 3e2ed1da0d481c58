import type { KnownBlock } from '@slack/types';
import { slackDateToken } from '../../domain/dates.js';
import type { UserStatus } from '../../services/status.js';
import { pendingRequestBlocks, uncheckedRequestsNote } from '../approval-messages.js';
import { context, escapeMrkdwn, section } from '../blocks.js';
import { REQUEST_CANCEL_ACTION } from '../notice-messages.js';
import type { PendingRequest, UncheckedRequests } from '../../services/approver-requests.js';
import { HOME_ACTIONS, type HomeListKind } from './actions.js';

/** Rows each personal list shows on the Home tab; the rest open with a "show all" button. */
export const PERSONAL_ROWS = 10;
/** Requests shown with Approve and Deny (two blocks each). */
export const APPROVAL_ROWS = 5;

/** Builds "Active now", "Eligible" and "Waiting for approval" for the viewer. */
export function buildPersonalSections(status: UserStatus): KnownBlock[] {
  const blocks: KnownBlock[] = [section('*Active now*')];
  if (status.active.length === 0) blocks.push(context('No active roles.'));
  for (const entry of status.active.slice(0, PERSONAL_ROWS)) {
    const until = entry.endsAt === null ? 'permanent' : `until ${slackDateToken(entry.endsAt)}`;
    const text = `*${escapeMrkdwn(entry.roleName)}* ${until}${entry.source === 'assignment' ? ' (assigned)' : ''}`;
    blocks.push(entry.source === 'activation' ? buttonRow(text, 'Deactivate', HOME_ACTIONS.deactivate, entry.roleSlug) : section(text));
  }
  blocks.push(...showMore('active', status.active.length, PERSONAL_ROWS));

  blocks.push(section('*Eligible*'));
  if (status.eligible.length === 0) blocks.push(context('You are not eligible for any role.'));
  for (const entry of status.eligible.slice(0, PERSONAL_ROWS)) {
    const until = entry.endsAt === null ? '' : `, eligible until ${slackDateToken(entry.endsAt)}`;
    blocks.push(buttonRow(`*${escapeMrkdwn(entry.roleName)}* (\`${entry.roleSlug}\`)${until}`, 'Activate', HOME_ACTIONS.activate, entry.roleSlug, 'primary'));
  }
  blocks.push(...showMore('eligible', status.eligible.length, PERSONAL_ROWS));

  if (status.pending.length > 0) {
    blocks.push(section('*Waiting for approval*'));
    for (const entry of status.pending.slice(0, PERSONAL_ROWS)) {
      const text = `*${escapeMrkdwn(entry.roleName)}*, requested ${slackDateToken(entry.requestedAt)}`;
      blocks.push(buttonRow(text, 'Cancel', REQUEST_CANCEL_ACTION, entry.activationId));
    }
    blocks.push(...showMore('pending', status.pending.length, PERSONAL_ROWS));
  }
  return blocks;
}

/**
 * Builds "Requests waiting for you" with Approve and Deny, and a note on the requests left out
 * because Slack could not list their approver groups. Returns nothing when neither exists.
 */
export function buildApprovalSection(requests: readonly PendingRequest[], unchecked?: UncheckedRequests): KnownBlock[] {
  if (requests.length === 0 && unchecked === undefined) return [];
  const blocks: KnownBlock[] = [{ type: 'divider' }, section(`*Requests waiting for you* (${requests.length})`)];
  for (const request of requests.slice(0, APPROVAL_ROWS)) blocks.push(...pendingRequestBlocks(request));
  blocks.push(...showMore('approvals', requests.length, APPROVAL_ROWS));
  if (unchecked !== undefined) blocks.push(context(uncheckedRequestsNote(unchecked)));
  return blocks;
}

/** Builds a section with one button on its right. */
export function buttonRow(
  text: string,
  label: string,
  actionId: string,
  value: string,
  style?: 'primary' | 'danger',
): KnownBlock {
  return {
    type: 'section',
    text: { type: 'mrkdwn', text },
    accessory: {
      type: 'button',
      action_id: actionId,
      text: { type: 'plain_text', text: label },
      value,
      ...(style === undefined ? {} : { style }),
    },
  };
}

/** Builds the "N more" row with a button that opens the whole list, or nothing when all fit. */
export function showMore(kind: HomeListKind, total: number, shown: number): KnownBlock[] {
  if (total <= shown) return [];
  return [buttonRow(`_${total - shown} more not shown here._`, `Show all ${total}`, HOME_ACTIONS.showMore, JSON.stringify({ kind, page: 0 }))];
}
