import type { KnownBlock } from '@slack/types';
import { slackDateToken } from '../domain/dates.js';
import { formatDuration } from '../domain/duration.js';
import type { Notice } from '../services/notices.js';
import { context, escapeMrkdwn, fields, mention, section } from './blocks.js';

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
      return {
        text,
        blocks: [
          section(`:unlock: *${escapeMrkdwn(notice.roleName)}* is active for you until ${until}.`),
          context(
            `It ends by itself after ${formatDuration(notice.durationMinutes)}. End it earlier with \`/pim deactivate\`.`,
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
            ['Ends', slackDateToken(new Date(notice.endsAt))],
            ['Justification', justification],
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
    case 'admins_bootstrapped': {
      const who = notice.userIds.map(mention).join(', ');
      const text = `slack-pim made ${who} permanent ${notice.roleNames.join(' and ')} (listed in PIM_ADMINS).`;
      return {
        text,
        blocks: [
          section(`:shield: ${text}`),
          context('Consider making them eligible instead, so that they activate these roles only when needed.'),
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
  }
}
