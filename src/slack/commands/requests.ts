import type { KnownBlock } from '@slack/types';
import { requireActivePra } from '../../services/access.js';
import { cancelRequest } from '../../services/approvals.js';
import { listRequestsForApprover } from '../../services/approver-requests.js';
import { listRoles, pickRole } from '../../services/roles.js';
import { pendingRequestBlocks, uncheckedRequestsNote } from '../approval-messages.js';
import { context, escapeMrkdwn, MESSAGE_BLOCK_LIMIT, section } from '../blocks.js';
import type { SlackDeps } from '../deps.js';
import { buildSettingsModal } from '../settings-modal.js';
import type { CommandOrigin } from './activate.js';

// Two blocks per request keeps a full list under the 50-block message limit.
const LISTED_REQUESTS = 20;

/** Handles `/pim requests`: the requests waiting for the caller, each with Approve and Deny. */
export async function handleRequestsCommand(deps: SlackDeps, origin: CommandOrigin) {
  const { requests: pending, unchecked } = await listRequestsForApprover(deps.context.db, origin.userId, deps.context.clock.now(), deps.context);
  const note = unchecked === undefined ? undefined : uncheckedRequestsNote(unchecked);
  if (pending.length === 0) {
    const text = note === undefined ? 'No requests are waiting for your approval.' : `No requests can be shown. ${note}`;
    await origin.respond({ response_type: 'ephemeral', text });
    return;
  }
  const blocks: KnownBlock[] = [section(`*${pending.length} request(s) waiting for you*`)];
  for (const request of pending.slice(0, LISTED_REQUESTS)) blocks.push(...pendingRequestBlocks(request));
  if (pending.length > LISTED_REQUESTS) {
    blocks.push(context(`${pending.length - LISTED_REQUESTS} more are not shown; decide these first.`));
  }
  if (note !== undefined) blocks.push(context(note));
  await origin.respond({
    response_type: 'ephemeral',
    text: `${pending.length} request(s) waiting for your approval.`,
    blocks: blocks.slice(0, MESSAGE_BLOCK_LIMIT),
  });
}

/** Handles `/pim cancel [role]`: cancels the caller's own pending request. */
export async function handleCancelCommand(deps: SlackDeps, origin: CommandOrigin, roleQuery: string | undefined) {
  const roleId = roleQuery === undefined ? undefined : pickRole(roleQuery, await listRoles(deps.context.db)).id;
  const result = await cancelRequest(deps.context, {
    userId: origin.userId,
    ...(roleId === undefined ? {} : { roleId }),
  });
  await origin.respond({
    response_type: 'ephemeral',
    text: `You cancelled your request for *${escapeMrkdwn(result.role.name)}*. Your approvers' messages now show it.`,
  });
}

/** Handles `/pim settings role`: opens the settings modal for active Privileged Role Administrators. */
export async function handleSettingsCommand(deps: SlackDeps, origin: CommandOrigin, roleQuery: string) {
  await requireActivePra(deps.context.db, origin.userId, deps.context.clock.now(), 'change role settings');
  const role = pickRole(roleQuery, await listRoles(deps.context.db));
  await deps.client.views.open({ trigger_id: origin.triggerId, view: buildSettingsModal(role) });
}
