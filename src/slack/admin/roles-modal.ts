import type { KnownBlock, View } from '@slack/types';
import type { RoleSummary } from '../../services/roles.js';
import { context } from '../blocks.js';
import { HOME_ACTIONS } from '../home/actions.js';
import { roleRow } from '../home/admin.js';
import { pageButtons } from '../home/list-modal.js';

/** `callback_id` of the paged role table. */
export const ROLES_MODAL_CALLBACK_ID = 'admin_roles';
/** Roles per page: one block each, plus a few for paging, under the 100-block limit. */
export const ROLES_PER_PAGE = 40;

/** Builds one page of the role table, each role with a button to its page. */
export function buildRolesModal(roles: readonly RoleSummary[], requestedPage: number): View {
  const pageCount = Math.max(1, Math.ceil(roles.length / ROLES_PER_PAGE));
  const page = Math.min(Math.max(0, requestedPage), pageCount - 1);
  const blocks: KnownBlock[] = [context(`${roles.length} roles: eligible / active / permanent holders.`)];
  blocks.push(...roles.slice(page * ROLES_PER_PAGE, (page + 1) * ROLES_PER_PAGE).map(roleRow));
  blocks.push(...pageButtons(HOME_ACTIONS.rolesPage, page, pageCount, String));
  return {
    type: 'modal',
    callback_id: ROLES_MODAL_CALLBACK_ID,
    title: { type: 'plain_text', text: 'Roles' },
    close: { type: 'plain_text', text: 'Close' },
    blocks,
  };
}
