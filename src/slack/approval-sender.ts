import type { WebClient } from '@slack/web-api';
import type { Executor } from '../../db/client.js';
import type { Logger } from '../logger.js';
import { listApprovalMessages, readRequestDetails, recordApprovalMessage } from '../services/approvals.js';
import { renderApprovalMessage } from './approval-messages.js';
import { classifySlackError } from './notice-sender.js';

/**
 * Sends one approver the DM for a request, rendered from the request's state now, and records
 * where it went so the decision can update it. A request decided before its DM went out gets no
 * DM: the approver would only see a closed request.
 */
export async function sendApprovalRequest(
  client: WebClient,
  db: Executor,
  logger: Logger,
  input: { activationId: string; approverId: string },
): Promise<void> {
  const details = await readRequestDetails(db, input.activationId);
  if (details === undefined || details.activation.status !== 'pending_approval') {
    logger.info({ activationId: input.activationId, approverId: input.approverId }, 'request already closed; approval DM skipped');
    return;
  }
  const message = renderApprovalMessage(details);
  try {
    const posted = await client.chat.postMessage({ channel: input.approverId, text: message.text, blocks: message.blocks });
    if (posted.channel === undefined || posted.ts === undefined) {
      throw new Error(`chat.postMessage to ${input.approverId} returned no channel or ts`);
    }
    await recordApprovalMessage(db, { ...input, channelId: posted.channel, ts: posted.ts });
  } catch (error) {
    throw classifySlackError(error, input.approverId);
  }
  // NOTE: a decision can commit between the status read above and the recording of this
  // message. This one DM then keeps its buttons, and a click on them gets "already decided".
}

/** Rewrites every approver's DM of a request to show its current state. */
export async function updateApprovalMessages(client: WebClient, db: Executor, activationId: string): Promise<void> {
  const details = await readRequestDetails(db, activationId);
  if (details === undefined) return;
  const message = renderApprovalMessage(details);
  const sent = await listApprovalMessages(db, activationId);
  for (const copy of sent) {
    try {
      await client.chat.update({ channel: copy.channelId, ts: copy.ts, text: message.text, blocks: message.blocks });
    } catch (error) {
      throw classifySlackError(error, copy.channelId);
    }
  }
}
