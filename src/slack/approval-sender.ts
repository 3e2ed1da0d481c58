import type { WebClient } from '@slack/web-api';
import type { Executor } from '../../db/client.js';
import { PermanentDeliveryError, RetryableDeliveryError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { readActivationState } from '../services/activation-ending.js';
import { checkApproverStanding } from '../services/approver-requests.js';
import type { Directory } from '../services/context.js';
import { listApprovalMessages, readRequestDetails, recordApprovalMessage } from '../services/approvals.js';
import { findRequesterMessage, type PostedMessage } from '../services/requester-messages.js';
import { renderApprovalMessage } from './approval-messages.js';
import type { RenderedMessage } from './notice-messages.js';
import { classifySlackError, UPDATE_PERMANENT_ERRORS } from './notice-sender.js';
import { renderClosedRequestMessage } from './requester-messages.js';

/** Dependencies of sending an approver's DM: the outbox's Slack client, Postgres, and the directory for approver groups. */
export interface ApprovalSenderTargets {
  client: WebClient;
  db: Executor;
  logger: Logger;
  directory: Directory;
  clock: Clock;
}

/**
 * Sends one approver the DM for a request, rendered from the request's state now, and records
 * where it went so the decision can update it. A request decided before its DM went out gets no
 * DM: the approver would only see a closed request. A DM already on record for that approver
 * (a retried delivery) is brought up to date instead. Someone who may no longer decide the
 * request gets no DM, because the outbox may have retried it for hours and a member removed from
 * the group meanwhile must not get the justification and ticket. When Slack cannot list the
 * approver group they were asked through, the delivery is retried.
 */
export async function sendApprovalRequest(targets: ApprovalSenderTargets, input: { activationId: string; approverId: string }): Promise<void> {
  const { client, db, logger } = targets;
  const details = await readRequestDetails(db, input.activationId);
  if (details === undefined || details.activation.status !== 'pending_approval') {
    const sent = (await listApprovalMessages(db, input.activationId)).find((copy) => copy.approverId === input.approverId);
    if (details !== undefined && sent !== undefined) {
      await updateSentMessage(client, sent, renderApprovalMessage(details));
      return;
    }
    logger.info({ activationId: input.activationId, approverId: input.approverId }, 'request already closed; approval DM skipped');
    return;
  }
  const groups = { directory: targets.directory, logger };
  const approverCheck = await checkApproverStanding(db, groups, input.activationId, input.approverId, targets.clock.now());
  if (approverCheck.status === 'former') {
    logger.info({ activationId: input.activationId, approverId: input.approverId }, 'no longer an approver of the request; approval DM skipped');
    return;
  }
  if (approverCheck.status === 'unchecked') {
    throw new RetryableDeliveryError('group_check_failed', `could not check ${input.approverId} against the approver groups in Slack`, {
      cause: approverCheck.error,
      ...(approverCheck.retryAfterMs === undefined ? {} : { retryAfterMs: approverCheck.retryAfterMs }),
    });
  }
  const message = renderApprovalMessage(details);
  let copy: { channelId: string; ts: string };
  try {
    const posted = await client.chat.postMessage({ channel: input.approverId, text: message.text, blocks: message.blocks });
    if (posted.channel === undefined || posted.ts === undefined) {
      throw new Error(`chat.postMessage to ${input.approverId} returned no channel or ts`);
    }
    copy = { channelId: posted.channel, ts: posted.ts };
    await recordApprovalMessage(db, { ...input, ...copy });
  } catch (error) {
    throw classifySlackError(error, input.approverId);
  }
  // A decision that committed before this DM was on record updated every other DM but not this
  // one. Any later decision finds it recorded, so one more read of the status closes the gap.
  if ((await readActivationState(db, input.activationId))?.status !== 'pending_approval') {
    const decided = await readRequestDetails(db, input.activationId);
    if (decided !== undefined) await updateSentMessage(client, copy, renderApprovalMessage(decided));
  }
}

/**
 * Rewrites every approver's DM of a request, and the requester's "waiting for approval" DM once
 * the request has closed, to show its current state. A DM that cannot be updated does not stop
 * the others: each is tried once, then the first failure is thrown, a retryable one before a
 * permanent one. A DM that is gone (deleted, or no longer editable) thus fails the delivery once,
 * after the others were updated, so none of them is rewritten again. Rate limiting stops the
 * walk, as the next calls would be limited too.
 *
 * NOTE: after a retryable failure of one DM, the retry rewrites every DM again, the updated
 * ones too. The content is the same, so this costs calls but changes nothing.
 */
export async function updateApprovalMessages(client: WebClient, db: Executor, activationId: string): Promise<void> {
  const details = await readRequestDetails(db, activationId);
  if (details === undefined) return;
  const [sent, requesterCopy] = await Promise.all([listApprovalMessages(db, activationId), findRequesterMessage(db, activationId)]);
  const approverMessage = renderApprovalMessage(details);
  const updates: { copy: PostedMessage; message: RenderedMessage }[] = sent.map((copy) => ({ copy, message: approverMessage }));
  const requesterMessage = renderClosedRequestMessage(details);
  if (requesterCopy !== undefined && requesterMessage !== undefined) updates.push({ copy: requesterCopy, message: requesterMessage });

  const failures: unknown[] = [];
  for (const { copy, message } of updates) {
    try {
      await updateSentMessage(client, copy, message);
    } catch (error) {
      failures.push(error);
      if (error instanceof RetryableDeliveryError && error.retryAfterMs !== undefined) break;
    }
  }
  if (failures.length === 0) return;
  throw failures.find((error) => !(error instanceof PermanentDeliveryError)) ?? failures[0];
}

/**
 * Rewrites one message that slack-pim posted with `chat.update`. Errors that no retry fixes
 * (`UPDATE_PERMANENT_ERRORS`) are thrown as `PermanentDeliveryError`.
 */
export async function updateSentMessage(client: WebClient, copy: PostedMessage, message: RenderedMessage): Promise<void> {
  try {
    await client.chat.update({ channel: copy.channelId, ts: copy.ts, text: message.text, blocks: message.blocks });
  } catch (error) {
    throw classifySlackError(error, copy.channelId, UPDATE_PERMANENT_ERRORS);
  }
}
