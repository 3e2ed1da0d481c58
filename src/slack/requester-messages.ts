import { slackDateToken } from '../domain/dates.js';
import type { RequestDetails } from '../services/approvals.js';
import { SYSTEM_ACTOR } from '../services/audit.js';
import { escapeMrkdwn, mention, section } from './blocks.js';
import type { RenderedMessage } from './notice-messages.js';

/**
 * Renders the requester's "waiting for approval" DM once the request has closed: the outcome, who
 * decided and when, with no Cancel button left to click. A denial's or a cancellation's reason is
 * left to the `request_closed` notice. Returns `undefined` while the request is pending, when the
 * DM stays as it was posted.
 */
export function renderClosedRequestMessage(details: RequestDetails): RenderedMessage | undefined {
  const line = describeOutcome(details);
  if (line === undefined) return undefined;
  return { text: line, blocks: [section(line)] };
}

function describeOutcome(details: RequestDetails): string | undefined {
  const request = details.activation;
  const role = `*${escapeMrkdwn(details.roleName)}*`;
  const decidedAt = request.decidedAt ?? request.endedAt;
  const when = decidedAt === null ? '' : ` ${slackDateToken(decidedAt)}`;
  switch (request.status) {
    case 'pending_approval':
      return undefined;
    case 'active':
    case 'expired':
    case 'deactivated':
      return `:white_check_mark: Your request for ${role} was approved${by(request.decidedBy)}${when}.`;
    case 'denied':
      return `:no_entry: Your request for ${role} was denied${by(request.decidedBy)}${when}.`;
    case 'cancelled':
      return request.endedBy === request.userId
        ? `:heavy_multiplication_x: You cancelled your request for ${role}${when}.`
        : `:heavy_multiplication_x: Your request for ${role} was cancelled${by(request.endedBy)}${when}.`;
    case 'timed_out':
      return `:hourglass: Your request for ${role} timed out${when}: nobody decided in time.`;
    case 'failed':
      return `:warning: Your request for ${role} could not be completed${when}.`;
  }
}

// The system closes requests on its own, for example when an eligible assignment reaches its end
// date, and has no Slack user to mention.
function by(userId: string | null): string {
  return userId === null || userId === SYSTEM_ACTOR ? '' : ` by ${mention(userId)}`;
}
