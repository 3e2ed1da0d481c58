import type { KnownBlock, View } from '@slack/types';
import { slackDateToken } from '../../domain/dates.js';
import type { RoleHolder } from '../../services/role-admin.js';
import type { RoleSummary } from '../../services/roles.js';
import { context, escapeMrkdwn, mention, section, truncate, MODAL_TITLE_LIMIT } from '../blocks.js';
import { pageButtons } from '../home/list-modal.js';
import { ADMIN_VIEWS, ROLE_PAGE_ACTIONS, type RolePageState } from './ids.js';

/** Holders per page: one block each, under the 100-block limit with the page's other blocks. */
export const HOLDERS_PER_PAGE = 40;

/** Builds a role's page: its details, its holders with start, end and who assigned them, and the actions. */
export function buildRolePage(role: RoleSummary, holders: readonly RoleHolder[], options: { canChange: boolean; page: number }): View {
  const pageCount = Math.max(1, Math.ceil(holders.length / HOLDERS_PER_PAGE));
  const page = Math.min(Math.max(0, options.page), pageCount - 1);
  const state: RolePageState = { roleId: role.id, page };
  const description = role.description === '' ? '' : `\n${escapeMrkdwn(role.description)}`;
  const blocks: KnownBlock[] = [
    section(`*${escapeMrkdwn(role.name)}* (\`${role.slug}\`)${role.builtin ? ' · built-in' : ''}${description}`),
    context(`${role.eligibleCount} eligible · ${role.activeCount} active · ${role.permanentCount} permanent`),
  ];
  if (options.canChange) blocks.push(roleActions(role));
  blocks.push({ type: 'divider' });
  if (holders.length === 0) blocks.push(section('Nobody holds this role.'));
  for (const holder of holders.slice(page * HOLDERS_PER_PAGE, (page + 1) * HOLDERS_PER_PAGE)) {
    blocks.push(holderRow(holder, options.canChange));
  }
  blocks.push(...pageButtons(ROLE_PAGE_ACTIONS.page, page, pageCount, String));
  if (!options.canChange) blocks.push(context('Only an active Privileged Role Administrator can change this role.'));
  return {
    type: 'modal',
    callback_id: ADMIN_VIEWS.rolePage,
    private_metadata: JSON.stringify(state),
    title: { type: 'plain_text', text: truncate(role.name, MODAL_TITLE_LIMIT) },
    close: { type: 'plain_text', text: 'Close' },
    blocks,
  };
}

function roleActions(role: RoleSummary): KnownBlock {
  const button = (text: string, actionId: string, style?: 'danger') => ({
    type: 'button' as const,
    action_id: actionId,
    text: { type: 'plain_text' as const, text },
    value: role.id,
    ...(style === undefined ? {} : { style }),
  });
  const elements = [button('Add assignment', ROLE_PAGE_ACTIONS.addHolder), button('Edit role', ROLE_PAGE_ACTIONS.editRole)];
  if (!role.builtin) elements.push(button('Delete role', ROLE_PAGE_ACTIONS.deleteRole, 'danger'));
  return { type: 'actions', block_id: 'role_actions', elements };
}

function holderRow(holder: RoleHolder, canChange: boolean): KnownBlock {
  const until = holder.endsAt === null ? 'no end date' : `until ${slackDateToken(holder.endsAt)}`;
  const by = describeGrantor(holder);
  const text = `${mention(holder.userId)} · *${holder.kind}*${holder.source === 'activation' ? ' (activation)' : ''}\nfrom ${slackDateToken(holder.startsAt)}, ${until}, ${by}`;
  if (!canChange || holder.source === 'activation') return section(text);
  return {
    type: 'section',
    text: { type: 'mrkdwn', text },
    accessory: {
      type: 'overflow',
      action_id: ROLE_PAGE_ACTIONS.holderMenu,
      options: [
        { text: { type: 'plain_text', text: holder.kind === 'eligible' ? 'Make active or change end…' : 'Make eligible or change end…' }, value: `change:${holder.assignmentId}` },
        { text: { type: 'plain_text', text: 'Remove…' }, value: `remove:${holder.assignmentId}` },
      ],
    },
  };
}

function describeGrantor(holder: RoleHolder): string {
  if (holder.source === 'activation') {
    return holder.assignedBy === holder.userId ? 'activated by them' : `activated, approved by ${mention(holder.assignedBy)}`;
  }
  return holder.assignedBy === 'system' ? 'assigned by slack-pim' : `assigned by ${mention(holder.assignedBy)}`;
}
