import type { App, BlockAction, ButtonAction, RespondFn, ViewStateValue } from '@slack/bolt';
import type { View } from '@slack/types';
import { z } from 'zod';
import { describeErrorForUser, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  approveRequest,
  authorizeDecision,
  cancelRequest,
  denyRequest,
  requireDecidable,
} from '../services/approvals.js';
import { APPROVE_ACTION, DENY_ACTION } from './approval-messages.js';
import { escapeMrkdwn, mention, section } from './blocks.js';
import type { SlackDeps } from './deps.js';
import { ackWithinBudget, type FieldErrors } from './submission-budget.js';
import { REQUEST_CANCEL_ACTION } from './notice-messages.js';

/** `callback_id` of the modal that asks an approver why they deny a request. */
export const DENY_CALLBACK_ID = 'deny_request';
const DENY_REASON_BLOCK = 'reason';
const VALUE_ACTION_ID = 'value';
/** Maximum length of a denial reason. */
const MAX_DENY_REASON_LENGTH = 500;

// Button values arrive from Slack's payload, which anyone can forge: only a UUID is accepted.
const activationIdSchema = z.uuid();

/** Sends the ephemeral answer to a click. */
type ClickReply = (message: { response_type: 'ephemeral'; replace_original: false; text: string }) => Promise<unknown>;

/**
 * Registers Approve, Deny and Cancel. Every click is authorized from the database when it is
 * applied; the payload only names the request.
 */
export function registerApprovalActions(app: App, deps: SlackDeps): void {
  app.action<BlockAction<ButtonAction>>(APPROVE_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const userId = body.user.id;
    const logger = deps.logger.child({ userId, action: 'approve', activationId: action.value });
    handleClick(deps, logger, replyTo(deps, userId, respond), async () => {
      const activationId = parseActivationId(action.value);
      const result = await approveRequest(deps.context, { activationId, approverId: userId });
      logger.info({ roleId: result.role.id, requesterId: result.activation.userId }, 'request approved');
      return `You approved ${mention(result.activation.userId)}'s request for *${escapeMrkdwn(result.role.name)}*.`;
    });
  });

  app.action<BlockAction<ButtonAction>>(DENY_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const userId = body.user.id;
    const logger = deps.logger.child({ userId, action: 'deny', activationId: action.value });
    handleClick(deps, logger, replyTo(deps, userId, respond), async () => {
      const activationId = parseActivationId(action.value);
      // Checked before the modal opens so that a late or forged click learns at once. Group
      // membership is left to the submission: asking Slack first could outlast the trigger.
      const now = deps.context.clock.now();
      const { pending, role } = await authorizeDecision(deps.context.db, activationId, userId, now, 'later');
      requireDecidable(pending, userId, now);
      await deps.client.views.open({
        trigger_id: body.trigger_id,
        view: buildDenyModal(activationId, pending.userId, role.name),
      });
      return undefined;
    });
  });

  app.view(DENY_CALLBACK_ID, async ({ ack, body, view }) => {
    const userId = body.user.id;
    const logger = deps.logger.child({ userId, action: 'deny', viewId: view.id });
    // A group member's denial waits for Slack to list the approver groups, which can outlast
    // the ack. Then the modal closes and an error arrives as a DM instead.
    const work = submitDenial(deps, userId, view.private_metadata, view.state.values, logger).then(
      (errorText): FieldErrors => (errorText === undefined ? undefined : { [DENY_REASON_BLOCK]: errorText }),
    );
    await ackWithinBudget(ack, work, { client: deps.client, userId, logger, failurePrefix: 'Your denial did not go through:' });
  });

  app.action<BlockAction<ButtonAction>>(REQUEST_CANCEL_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const userId = body.user.id;
    const logger = deps.logger.child({ userId, action: 'cancel', activationId: action.value });
    handleClick(deps, logger, replyTo(deps, userId, respond), async () => {
      const activationId = parseActivationId(action.value);
      const result = await cancelRequest(deps.context, { userId, activationId });
      logger.info({ roleId: result.role.id }, 'request cancelled');
      return `You cancelled your request for *${escapeMrkdwn(result.role.name)}*.`;
    });
  });
}

/** Builds the modal asking for the reason of a denial; the request id rides in `private_metadata`. */
export function buildDenyModal(activationId: string, requesterId: string, roleName: string): View {
  return {
    type: 'modal',
    callback_id: DENY_CALLBACK_ID,
    private_metadata: activationId,
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Back' },
    blocks: [
      section(`Deny ${mention(requesterId)}'s request for *${escapeMrkdwn(roleName)}*? They will see your reason.`),
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason' },
        element: {
          type: 'plain_text_input',
          action_id: VALUE_ACTION_ID,
          multiline: true,
          max_length: MAX_DENY_REASON_LENGTH,
        },
      },
    ],
  };
}

/**
 * Returns how to answer a click: its response URL when the button sat in a message, else a DM,
 * because buttons on the Home tab come without one.
 */
function replyTo(deps: SlackDeps, userId: string, respond: RespondFn | undefined): ClickReply {
  if (respond !== undefined) return respond;
  return (message) => deps.client.chat.postMessage({ channel: userId, text: message.text });
}

function handleClick(deps: SlackDeps, logger: Logger, respond: ClickReply, work: () => Promise<string | undefined>): void {
  deps.afterAck(async () => {
    try {
      const text = await work();
      if (text !== undefined) await respond({ response_type: 'ephemeral', replace_original: false, text });
    } catch (error) {
      const reply = describeErrorForUser(error, logger);
      await respond({ response_type: 'ephemeral', replace_original: false, text: reply.text }).catch(
        (respondError: unknown) => logger.error({ err: respondError, referenceId: reply.referenceId }, 'could not send the reply'),
      );
    }
  });
}

/** Denies the request a deny modal names. Returns the error text to show when it was not denied. */
async function submitDenial(
  deps: SlackDeps,
  userId: string,
  privateMetadata: string | undefined,
  values: Record<string, Record<string, ViewStateValue>>,
  logger: Logger,
): Promise<string | undefined> {
  try {
    const activationId = parseActivationId(privateMetadata);
    const reason = readReason(values);
    const result = await denyRequest(deps.context, { activationId, approverId: userId, reason });
    logger.info({ activationId, roleId: result.role.id, requesterId: result.activation.userId }, 'request denied');
    return undefined;
  } catch (error) {
    return describeErrorForUser(error, logger).text;
  }
}

function parseActivationId(value: string | undefined): string {
  const parsed = activationIdSchema.safeParse(value);
  if (!parsed.success) throw new UserError('request_not_found', 'This request does not exist, so there is nothing to decide.');
  return parsed.data;
}

function readReason(values: Record<string, Record<string, ViewStateValue>>): string {
  return values[DENY_REASON_BLOCK]?.[VALUE_ACTION_ID]?.value ?? '';
}
