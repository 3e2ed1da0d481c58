import type { App } from '@slack/bolt';
import type { KnownBlock, View } from '@slack/types';
import { slackDateToken } from '../domain/dates.js';
import { describeErrorForUser } from '../errors.js';
import { listEligibleRoles } from '../services/activations.js';
import { readUserStatus, type UserStatus } from '../services/status.js';
import { buildActivationModal } from './activation-modal.js';
import { context, escapeMrkdwn, header, section, VIEW_BLOCK_LIMIT } from './blocks.js';
import type { SlackDeps } from './deps.js';

/** `action_id` of a role's Activate button on the Home tab; its value is the role slug. */
export const HOME_ACTIVATE_ACTION = 'home_activate';

// Roles listed one block each; the rest are summarised so the view stays under 100 blocks.
const HOME_ROLE_ROWS = 40;

/** Builds the Home tab: my active roles with their end times, and my eligible roles to activate. */
export function buildHomeView(status: UserStatus): View {
  const blocks: KnownBlock[] = [header('Privileged access')];
  blocks.push(section('*Active now*'));
  if (status.active.length === 0) blocks.push(context('No active roles.'));
  for (const entry of status.active.slice(0, HOME_ROLE_ROWS)) {
    const until = entry.endsAt === null ? 'permanent' : `until ${slackDateToken(entry.endsAt)}`;
    blocks.push(section(`*${escapeMrkdwn(entry.roleName)}* ${until}`));
  }
  blocks.push({ type: 'divider' }, section('*Eligible*'));
  if (status.eligible.length === 0) blocks.push(context('You are not eligible for any role.'));
  for (const entry of status.eligible.slice(0, HOME_ROLE_ROWS)) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*${escapeMrkdwn(entry.roleName)}* (\`${entry.roleSlug}\`)` },
      accessory: {
        type: 'button',
        action_id: HOME_ACTIVATE_ACTION,
        text: { type: 'plain_text', text: 'Activate' },
        value: entry.roleSlug,
      },
    });
  }
  const hidden = Math.max(0, status.active.length - HOME_ROLE_ROWS) + Math.max(0, status.eligible.length - HOME_ROLE_ROWS);
  if (hidden > 0) blocks.push(context(`${hidden} more roles not shown; see \`/pim status\`.`));
  if (status.pending.length > 0) {
    blocks.push({ type: 'divider' }, context(`${status.pending.length} request(s) waiting for approval.`));
  }
  return { type: 'home', blocks: blocks.slice(0, VIEW_BLOCK_LIMIT) };
}

/**
 * Builds the Home tab of one user from the database: the single entry point for publishing it,
 * so every caller (the event handler, the benchmarks) shows the same view.
 */
export async function buildHomeViewForUser(deps: Pick<SlackDeps, 'context'>, userId: string): Promise<View> {
  const status = await readUserStatus(deps.context.db, userId, deps.context.clock.now());
  return buildHomeView(status);
}

/** Publishes the Home tab when opened, and opens the activation modal from its buttons. */
export function registerHome(app: App, deps: SlackDeps): void {
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    const logger = deps.logger.child({ userId: event.user });
    try {
      const view = await buildHomeViewForUser(deps, event.user);
      await deps.client.views.publish({ user_id: event.user, view });
    } catch (error) {
      describeErrorForUser(error, logger);
    }
  });

  app.action(HOME_ACTIVATE_ACTION, async ({ ack, body, action }) => {
    await ack();
    if (body.type !== 'block_actions' || action.type !== 'button') return;
    const userId = body.user.id;
    const logger = deps.logger.child({ userId });
    try {
      const eligible = await listEligibleRoles(deps.context.db, userId, deps.context.clock.now());
      const prefill = action.value === undefined ? {} : { roleSlug: action.value };
      await deps.client.views.open({ trigger_id: body.trigger_id, view: buildActivationModal(eligible, prefill) });
    } catch (error) {
      const reply = describeErrorForUser(error, logger);
      await deps.client.chat.postMessage({ channel: userId, text: reply.text }).catch(() => undefined);
    }
  });
}
