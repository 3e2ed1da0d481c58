import type { KnownBlock } from '@slack/types';
import { slackDateToken } from '../domain/dates.js';
import { formatDuration, formatSeconds } from '../domain/duration.js';
import { formatTicket } from '../services/activation-records.js';
import { SYSTEM_ACTOR } from '../services/audit.js';
import { RECENT_ACTIVATIONS_DAYS, type RecentActivation, type RequestDetails } from '../services/approvals.js';
import type { PendingRequest, UncheckedRequests } from '../services/approver-requests.js';
import { context, escapeMrkdwn, fields, header, mention, section } from './blocks.js';
import type { RenderedMessage } from './notice-messages.js';

/** `action_id`s of the approver's buttons; each button's value is the activation id. */
export const APPROVE_ACTION = 'approval_approve';
export const DENY_ACTION = 'approval_deny';

// Earlier activations listed by date; the rest are counted.
const RECENT_LISTED = 5;

/**
 * Renders the approver's DM for a request: the facts to decide on and, while the request is
 * pending, Approve and Deny buttons. Once decided, the same message shows the outcome and who
 * decided, with no buttons left to click.
 */
export function renderApprovalMessage(details: RequestDetails): RenderedMessage {
  const request = details.activation;
  const role = escapeMrkdwn(details.roleName);
  const summary = `${mention(request.userId)} requests *${role}* for ${formatDuration(request.durationMinutes)}.`;
  const blocks: KnownBlock[] = [
    header('Approval requested'),
    section(summary),
    fields([
      ['Requester', mention(request.userId)],
      ['Role', role],
      ['Duration', formatDuration(request.durationMinutes)],
      ['Starts', 'When approved'],
      ['Justification', request.justification === null ? '_none given_' : escapeMrkdwn(request.justification)],
      ['Ticket', escapeMrkdwn(formatTicket(request) ?? 'none')],
      [`Activations started, last ${RECENT_ACTIVATIONS_DAYS} days`, describeRecent(details)],
      ['Requested', slackDateToken(request.requestedAt)],
    ]),
  ];
  const outcome = describeOutcome(details);
  if (outcome === undefined) {
    blocks.push(
      decisionButtons(request.id),
      context(
        `Times out ${request.requestExpiresAt === null ? 'never' : slackDateToken(request.requestExpiresAt)}. Other approvers: ${otherApprovers(details)}.`,
      ),
    );
  } else {
    blocks.push(section(outcome));
  }
  // The id lets an approver or auditor find the request in the audit trail.
  blocks.push(context(`Request ${request.id}`));
  return { text: `${summary} ${outcome ?? 'Approve or deny it here.'}`, blocks };
}

/** Builds the Approve and Deny buttons of a request; each button's value is the activation id. */
export function decisionButtons(activationId: string): KnownBlock {
  return {
    type: 'actions',
    block_id: `decide:${activationId}`,
    elements: [
      {
        type: 'button',
        action_id: APPROVE_ACTION,
        style: 'primary',
        text: { type: 'plain_text', text: 'Approve' },
        value: activationId,
      },
      {
        type: 'button',
        action_id: DENY_ACTION,
        style: 'danger',
        text: { type: 'plain_text', text: 'Deny' },
        value: activationId,
      },
    ],
  };
}

/**
 * Builds the short form of a pending request for lists (`/pim requests`, the Home tab): one line
 * with its facts, then Approve and Deny.
 */
export function pendingRequestBlocks(request: PendingRequest): KnownBlock[] {
  const { activation, roleName } = request;
  const justification = activation.justification === null ? '' : `\n>${escapeMrkdwn(activation.justification)}`;
  return [
    section(
      `${mention(activation.userId)} requests *${escapeMrkdwn(roleName)}* for ${formatDuration(activation.durationMinutes)}, since ${slackDateToken(activation.requestedAt)}${justification}`,
    ),
    decisionButtons(activation.id),
  ];
}

/**
 * Explains the requests a list leaves out because Slack could not confirm that the viewer is still
 * in the approver groups they were sent through.
 */
export function uncheckedRequestsNote(unchecked: UncheckedRequests): string {
  const when = unchecked.retryAfterSeconds === undefined ? 'in a minute' : `in ${formatSeconds(unchecked.retryAfterSeconds)}`;
  const subject = unchecked.count === 1 ? '1 request sent to you through an approver group is' : `${unchecked.count} requests sent to you through approver groups are`;
  return `${subject} not shown, because Slack could not confirm that you are still in the group. Look again ${when}.`;
}

function describeOutcome(details: RequestDetails): string | undefined {
  const request = details.activation;
  const decidedAt = request.decidedAt ?? request.endedAt;
  const when = decidedAt === null ? '' : ` ${slackDateToken(decidedAt)}`;
  switch (request.status) {
    case 'pending_approval':
      return undefined;
    case 'active':
    case 'expired':
    case 'deactivated':
      return `:white_check_mark: Approved by ${mention(request.decidedBy ?? 'unknown')}${when}.`;
    case 'denied':
      return `:no_entry: Denied by ${mention(request.decidedBy ?? 'unknown')}${when}: ${escapeMrkdwn(request.decisionReason ?? '')}`;
    case 'cancelled':
      // Besides the requester, an administrator cancels a request by removing the eligibility or
      // the approvers, and the system when the eligibility ends. The row does not say which.
      if (request.endedBy === request.userId) return `:heavy_multiplication_x: Cancelled by the requester${when}.`;
      if (request.endedBy === null || request.endedBy === SYSTEM_ACTOR) return `:heavy_multiplication_x: Cancelled${when}.`;
      return `:heavy_multiplication_x: Cancelled by ${mention(request.endedBy)}${when}.`;
    case 'timed_out':
      return `:hourglass: Timed out${when}: nobody decided in time.`;
    case 'failed':
      return `:warning: Could not be completed${when}.`;
  }
}

/**
 * Lists the requester's earlier activations of the role that started, each with how long it
 * lasted, or its planned duration while still active. Requests that never started (denied,
 * cancelled, timed out) are not counted, as the field's label "started" states.
 */
function describeRecent(details: RequestDetails): string {
  if (details.recentCount === 0) return 'None';
  const listed = details.recent
    .slice(0, RECENT_LISTED)
    .map((entry) => `${slackDateToken(entry.startsAt, '{date_short}')} (${describeLength(entry)})`);
  const unlisted = details.recentCount - listed.length;
  const more = unlisted > 0 ? `, and ${unlisted} more` : '';
  const noun = details.recentCount === 1 ? 'activation' : 'activations';
  return `${details.recentCount} ${noun}: ${listed.join(', ')}${more}`;
}

function describeLength(entry: RecentActivation): string {
  if (entry.status === 'active') return `active, ${formatDuration(entry.durationMinutes)} planned`;
  // A worker records an expiry a little after the planned end. Access never lasts past `endsAt`
  // (access checks compare with it), so the earlier of the two is when it ended.
  const endedAt = Math.min(entry.endedAt?.getTime() ?? entry.endsAt.getTime(), entry.endsAt.getTime());
  const lastedMs = Math.max(0, endedAt - entry.startsAt.getTime());
  if (lastedMs < 60_000) return 'lasted under a minute';
  return `lasted ${formatDuration(Math.round(lastedMs / 60_000))}`;
}

function otherApprovers(details: RequestDetails): string {
  return details.approverIds.length <= 1 ? 'none' : details.approverIds.map(mention).join(', ');
}
