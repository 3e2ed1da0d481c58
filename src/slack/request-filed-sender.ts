import type { WebClient } from '@slack/web-api';
import type { Executor } from '../../db/client.js';
import type { Logger } from '../logger.js';
import { readActivationState } from '../services/activation-ending.js';
import { readRequestDetails } from '../services/approvals.js';
import type { Notice } from '../services/notices.js';
import { findRequesterMessage, recordRequesterMessage, type PostedMessage } from '../services/requester-messages.js';
import { updateSentMessage } from './approval-sender.js';
import type { NoticeDelivery, SendNotice } from './notice-sender.js';
import { renderClosedRequestMessage } from './requester-messages.js';

/** The requester's "waiting for approval" notice, with its Cancel button. */
export type RequestFiledNotice = Extract<Notice, { type: 'request_filed' }>;

/**
 * Posts the requester's "waiting for approval" DM and records where it went, so that closing the
 * request rewrites it without its Cancel button (see `updateApprovalMessages`). A request closed
 * before its DM went out gets no DM, because its Cancel button would no longer work. A DM already
 * on record (a retried delivery) is not posted again, and is rewritten when the request has closed.
 */
export async function sendRequestFiledNotice(
  targets: { client: WebClient; db: Executor; logger: Logger; sendNotice: SendNotice },
  delivery: NoticeDelivery & { notice: RequestFiledNotice },
): Promise<void> {
  const { activationId, userId } = delivery.notice;
  const recorded = await findRequesterMessage(targets.db, activationId);
  if (recorded !== undefined) {
    await rewriteIfClosed(targets, activationId, recorded);
    return;
  }
  if ((await readActivationState(targets.db, activationId))?.status !== 'pending_approval') {
    targets.logger.info({ activationId, userId }, 'request already closed; waiting-for-approval DM skipped');
    return;
  }

  const posted = await targets.sendNotice(delivery);
  if (posted === undefined) {
    targets.logger.warn({ activationId, userId }, 'Slack returned no channel or ts for the waiting-for-approval DM; it cannot be rewritten when the request closes');
    return;
  }
  // NOTE: when this write fails after Slack took the post, the retry posts a second DM and
  // records that one. The first keeps its Cancel button, and a click on it changes nothing.
  await recordRequesterMessage(targets.db, { activationId, ...posted });
  // A request that closed before this DM was on record had its other DMs rewritten, but not this
  // one. Any later close finds it recorded, so one more read of the status closes the gap.
  await rewriteIfClosed(targets, activationId, posted);
}

async function rewriteIfClosed(targets: { client: WebClient; db: Executor }, activationId: string, copy: PostedMessage): Promise<void> {
  if ((await readActivationState(targets.db, activationId))?.status === 'pending_approval') return;
  const details = await readRequestDetails(targets.db, activationId);
  const message = details === undefined ? undefined : renderClosedRequestMessage(details);
  if (message !== undefined) await updateSentMessage(targets.client, copy, message);
}
