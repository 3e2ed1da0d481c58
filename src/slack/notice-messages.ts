import type { KnownBlock } from '@slack/types';
import { slackDateToken } from '../domain/dates.js';
import { formatDuration } from '../domain/duration.js';
import type { Notice } from '../services/notices.js';
import { context, escapeMrkdwn, fields, mention, section } from './blocks.js';

/** `action_id` of the Cancel button in a requester's "waiting for approval" DM. */
export const REQUEST_CANCEL_ACTION = 'request_cancel';

/** A rendered message: `text` is the notification and screen-reader fallback for `blocks`. */
export interface RenderedMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Renders a notice into the message people see. Pure: same notice, same message. */
export function renderNotice(notice: Notice): RenderedMessage {
  switch (notice.type) {
    case 'activation_started': {
      const until = slackDateToken(new Date(notice.endsAt));
      const text = `Your ${notice.roleName} role is active until ${until}.`;
      const approved = notice.approvedBy === null ? '' : `Approved by ${mention(notice.approvedBy)}. `;
      return {
        text,
        blocks: [
          section(`:unlock: *${escapeMrkdwn(notice.roleName)}* is active for you until ${until}.`),
          context(
            `${approved}It ends by itself after ${formatDuration(notice.durationMinutes)}${
              notice.endsWithEligibility === true ? ', when your eligible assignment of the role ends' : ''
            }. End it earlier with \`/pim deactivate\`.`,
          ),
        ],
      };
    }
    case 'activation_announced': {
      const text = `${mention(notice.userId)} activated ${notice.roleName} for ${formatDuration(notice.durationMinutes)}.`;
      const justification =
        notice.justification === null ? '_none given_' : escapeMrkdwn(notice.justification);
      return {
        text,
        blocks: [
          section(`:key: ${mention(notice.userId)} activated *${escapeMrkdwn(notice.roleName)}*.`),
          fields([
            ['Duration', formatDuration(notice.durationMinutes)],
            [
              'Ends',
              `${slackDateToken(new Date(notice.endsAt))}${notice.endsWithEligibility === true ? ' (end of eligibility)' : ''}`,
            ],
            ['Justification', justification],
            ...(notice.ticket === null ? [] : [['Ticket', escapeMrkdwn(notice.ticket)] as [string, string]]),
            ...(notice.approvedBy === null ? [] : [['Approved by', mention(notice.approvedBy)] as [string, string]]),
          ]),
          context(`Activation ${notice.activationId}`),
        ],
      };
    }
    case 'activation_ended': {
      const reason = endedReason(notice);
      const text = `Your ${notice.roleName} role has ended: ${reason}.`;
      return {
        text,
        blocks: [
          section(`:lock: *${escapeMrkdwn(notice.roleName)}* has ended for you: ${reason}.`),
          context(`Ended ${slackDateToken(new Date(notice.endedAt))}. Activate it again with \`/pim activate\`.`),
        ],
      };
    }
    case 'assignment_added': {
      const until = notice.endsAt === null ? 'with no end date' : `until ${slackDateToken(new Date(notice.endsAt))}`;
      const what =
        notice.kind === 'eligible'
          ? `You are now eligible for *${escapeMrkdwn(notice.roleName)}* ${until}. Activate it when you need it with \`/pim activate\`.`
          : `You now hold *${escapeMrkdwn(notice.roleName)}* ${until}.`;
      const reason = notice.reason === null ? '' : ` Reason: ${escapeMrkdwn(notice.reason)}`;
      if (notice.audience === 'administrator') {
        const text = `${mention(notice.assignedBy)} assigned ${mention(notice.userId)} ${notice.roleName} (${notice.kind}) ${until}.`;
        return { text, blocks: [section(text), context(`You get this because the role notifies administrators.${reason}`)] };
      }
      return {
        text: `${mention(notice.assignedBy)} assigned you ${notice.roleName} (${notice.kind}).`,
        blocks: [section(what), context(`Assigned by ${mention(notice.assignedBy)}.${reason}`)],
      };
    }
    case 'assignment_removed': {
      const reason = notice.reason === null ? '' : ` Reason: ${escapeMrkdwn(notice.reason)}`;
      return {
        text: `${mention(notice.removedBy)} removed your ${notice.roleName} assignment.`,
        blocks: [
          section(`Your ${notice.kind} assignment of *${escapeMrkdwn(notice.roleName)}* was removed.`),
          context(`Removed by ${mention(notice.removedBy)}.${reason}`),
        ],
      };
    }
    case 'request_filed': {
      const approvers = notice.approverIds.map(mention).join(', ');
      const text = `Your request for ${notice.roleName} is waiting for approval.`;
      return {
        text,
        blocks: [
          section(
            `:hourglass_flowing_sand: Your request for *${escapeMrkdwn(notice.roleName)}* (${formatDuration(notice.durationMinutes)}) is waiting for approval by ${approvers}.`,
          ),
          context(`It times out ${slackDateToken(new Date(notice.expiresAt))} if nobody decides.`),
          {
            type: 'actions',
            elements: [
              {
                type: 'button',
                action_id: REQUEST_CANCEL_ACTION,
                text: { type: 'plain_text', text: 'Cancel request' },
                value: notice.activationId,
                confirm: {
                  title: { type: 'plain_text', text: 'Cancel this request?' },
                  text: { type: 'plain_text', text: `Your approvers will see that you cancelled it.` },
                  confirm: { type: 'plain_text', text: 'Cancel request' },
                  deny: { type: 'plain_text', text: 'Keep it' },
                },
              },
            ],
          },
        ],
      };
    }
    case 'request_closed': {
      const role = escapeMrkdwn(notice.roleName);
      const line =
        notice.outcome === 'denied'
          ? `:no_entry: ${mention(notice.decidedBy)} denied your request for *${role}*.`
          : notice.outcome === 'timed_out'
            ? `:hourglass: Your request for *${role}* timed out: nobody decided in time. Request it again if you still need it.`
            : `Your request for *${role}* was cancelled by ${mention(notice.decidedBy)}.`;
      const blocks: KnownBlock[] = [section(line)];
      if (notice.reason !== null) blocks.push(section(`*Reason:* ${escapeMrkdwn(notice.reason)}`));
      return { text: line, blocks };
    }
    case 'approval_reminder': {
      const text = `Reminder: ${mention(notice.requesterId)} is waiting for your decision on ${notice.roleName}.`;
      return {
        text,
        blocks: [
          section(
            `:bell: ${mention(notice.requesterId)} has been waiting since ${slackDateToken(new Date(notice.requestedAt))} for a decision on *${escapeMrkdwn(notice.roleName)}*.`,
          ),
          context(
            `Use the buttons on the request above, or \`/pim requests\`. It times out ${slackDateToken(new Date(notice.expiresAt))}.`,
          ),
        ],
      };
    }
    case 'admins_bootstrapped': {
      const who = notice.userIds.map(mention).join(', ');
      const source = notice.via === 'setup' ? 'the first to run `/pim setup`' : 'listed in PIM_ADMINS';
      const text = `slack-pim made ${who} permanent ${notice.roleNames.join(' and ')} (${source}).`;
      return {
        text,
        blocks: [
          section(`:shield: ${text}`),
          context('Consider making them eligible instead, so that they activate these roles only when needed.'),
        ],
      };
    }
    case 'assignment_ending':
    case 'assignment_expired':
    case 'last_admin_expiring':
      return renderAssignmentNotice(notice);
  }
}

function renderAssignmentNotice(
  notice: Extract<Notice, { type: 'assignment_ending' | 'assignment_expired' | 'last_admin_expiring' }>,
): RenderedMessage {
  switch (notice.type) {
    case 'assignment_ending': {
      const when = slackDateToken(new Date(notice.endsAt));
      const left = notice.leadDays === 1 ? 'tomorrow' : `in ${notice.leadDays} days`;
      const text = `Your ${notice.kind} assignment of ${notice.roleName} ends ${left} (${when}).`;
      return {
        text,
        blocks: [
          section(`:hourglass: Your ${notice.kind} assignment of *${escapeMrkdwn(notice.roleName)}* ends ${left}, ${when}.`),
          context('Ask a Privileged Role Administrator to extend it if you still need it.'),
        ],
      };
    }
    case 'assignment_expired': {
      const text = `Your ${notice.kind} assignment of ${notice.roleName} has ended: it reached its end date.`;
      const consequence =
        notice.kind === 'eligible' ? ' Any activation or request of it has ended too.' : '';
      return {
        text,
        blocks: [
          section(`:lock: Your ${notice.kind} assignment of *${escapeMrkdwn(notice.roleName)}* reached its end date and has ended.${consequence}`),
          context(`Ended ${slackDateToken(new Date(notice.endedAt))}.`),
        ],
      };
    }
    case 'last_admin_expiring': {
      const when = slackDateToken(new Date(notice.endsAt));
      const lead =
        notice.stage === 'expired'
          ? `The last active Privileged Role Administrator assignment (${mention(notice.userId)}) has ended.`
          : `The last active Privileged Role Administrator assignment (${mention(notice.userId)}) ends ${when}.`;
      const text = `${lead} Nobody else can manage slack-pim after that.`;
      return {
        text,
        blocks: [
          section(`:warning: ${text}`),
          context('Assign another active Privileged Role Administrator, or extend this assignment; eligible administrators can still activate the role. Once no assignment of the role is left, only `PIM_ADMINS` and a restart can name administrators again.'),
        ],
      };
    }
  }
}

function endedReason(notice: Extract<Notice, { type: 'activation_ended' }>): string {
  switch (notice.reason) {
    case 'expired':
      return 'its time is up';
    case 'deactivated':
      return notice.endedBy === notice.userId ? 'you deactivated it' : `deactivated by ${mention(notice.endedBy)}`;
    case 'eligibility_removed':
      return `your eligibility was removed by ${mention(notice.endedBy)}`;
    case 'assignment_expired':
      return 'your eligibility reached its end date';
  }
}
