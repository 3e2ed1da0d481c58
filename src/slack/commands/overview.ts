import type { KnownBlock } from '@slack/types';
import { slackDateToken } from '../../domain/dates.js';
import { summarizeRoles } from '../../services/roles.js';
import { readUserStatus, type StatusEntry } from '../../services/status.js';
import { escapeMrkdwn, header, MESSAGE_BLOCK_LIMIT, section } from '../blocks.js';
import type { SlackDeps } from '../deps.js';
import type { CommandOrigin } from './activate.js';

// Lines per section stay well under the 3,000-character section limit.
const LINES_PER_SECTION = 25;

/** Handles `/pim status`: my eligible roles, active roles with end times, pending requests. */
export async function handleStatusCommand(deps: SlackDeps, origin: CommandOrigin) {
  const status = await readUserStatus(deps.context.db, origin.userId, deps.context.clock.now());
  const until = (entry: StatusEntry) => (entry.endsAt === null ? 'permanent' : `until ${slackDateToken(entry.endsAt)}`);
  const blocks: KnownBlock[] = [header('Your privileged roles')];
  blocks.push(
    ...listSections(
      '*Active now*',
      status.active.map((entry) => `• *${escapeMrkdwn(entry.roleName)}* ${until(entry)}${entry.source === 'assignment' ? ' (assigned)' : ''}`),
      'None. Activate a role with `/pim activate`.',
    ),
    ...listSections(
      '*Eligible*',
      status.eligible.map((entry) => `• *${escapeMrkdwn(entry.roleName)}* (\`${entry.roleSlug}\`) ${until(entry)}`),
      'None.',
    ),
    ...listSections(
      '*Waiting for approval*',
      status.pending.map((entry) => `• *${escapeMrkdwn(entry.roleName)}* requested ${slackDateToken(entry.requestedAt)}`),
      'None.',
    ),
  );
  const text = `Active: ${status.active.length}, eligible: ${status.eligible.length}, pending: ${status.pending.length}.`;
  await origin.respond({ response_type: 'ephemeral', text, blocks: blocks.slice(0, MESSAGE_BLOCK_LIMIT) });
}

/** Handles `/pim roles`: every role with its eligible, active and permanent holder counts. */
export async function handleRolesCommand(deps: SlackDeps, origin: CommandOrigin) {
  const summaries = await summarizeRoles(deps.context.db, deps.context.clock.now());
  const lines = summaries.map(
    (role) =>
      `• *${escapeMrkdwn(role.name)}* (\`${role.slug}\`): ${role.eligibleCount} eligible, ${role.activeCount} active, ${role.permanentCount} permanent`,
  );
  const blocks: KnownBlock[] = [header('Roles'), ...listSections('', lines, 'No roles yet.')];
  await origin.respond({
    response_type: 'ephemeral',
    text: `${summaries.length} roles.`,
    blocks: blocks.slice(0, MESSAGE_BLOCK_LIMIT),
  });
}

function listSections(title: string, lines: string[], empty: string): KnownBlock[] {
  if (lines.length === 0) return [section(title === '' ? empty : `${title}\n${empty}`)];
  const blocks: KnownBlock[] = [];
  for (let start = 0; start < lines.length; start += LINES_PER_SECTION) {
    const chunk = lines.slice(start, start + LINES_PER_SECTION).join('\n');
    blocks.push(section(start === 0 && title !== '' ? `${title}\n${chunk}` : chunk));
  }
  return blocks;
}
