import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  type ChatPostMessageResponse,
  type WebClient,
} from '@slack/web-api';
import { PermanentDeliveryError, RetryableDeliveryError } from '../errors.js';
import type { Notice, NoticeRecipient } from '../services/notices.js';
import type { PostedMessage } from '../services/requester-messages.js';
import { renderNotice } from './notice-messages.js';

// Slack platform errors that a retry cannot fix: the message or its target user is wrong.
// https://docs.slack.dev/reference/methods/chat.postMessage#errors
const PERMANENT_ERRORS = new Set([
  'user_not_found',
  'cannot_dm_bot',
  'account_inactive',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_metadata_format',
  'msg_too_long',
  'no_text',
  'too_many_attachments',
]);

// chat.update errors that no retry fixes, as Slack's error list for the method describes them:
// no message has that timestamp, the app may not update it, or the workspace's edit settings
// no longer allow editing it.
export const UPDATE_PERMANENT_ERRORS: ReadonlySet<string> = new Set([
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
]);

// Errors an administrator fixes by inviting the app, restoring the channel, reinstalling the app
// or granting a scope. Messages wait (retried with backoff) instead of being dropped meanwhile.
const NEEDS_ADMIN_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'restricted_action',
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'team_access_not_granted',
]);

/** `event_type` of the metadata on every message slack-pim posts. */
export const OUTBOX_METADATA_EVENT_TYPE = 'pim_outbox_message';

/** One message to post, keyed by the outbox row that owes it. */
export interface NoticeDelivery {
  outboxId: number;
  to: NoticeRecipient;
  notice: Notice;
}

/**
 * Posts a rendered notice to a user's DM with the app or to a channel. Resolves with where the
 * message went, or `undefined` when Slack's response named no channel or `ts`.
 */
export type SendNotice = (delivery: NoticeDelivery) => Promise<PostedMessage | undefined>;

/**
 * Creates the sender the outbox uses. `chat.postMessage` to a user ID posts in the app's DM
 * with that user, so no `im:write` scope or `conversations.open` is needed. `client` must not
 * retry by itself (`retries: 0`, `rejectRateLimitedCalls: true`): the outbox records every
 * attempt and schedules the next one, honouring `Retry-After`.
 *
 * NOTE: Slack offers no idempotency key for chat.postMessage (`client_msg_id` is reserved for
 * Slack's own clients), so a message can still be posted twice. That happens when Slack
 * accepted a post and this process died, or lost the response (time-out, reset connection),
 * before the outbox row was marked delivered. The window is one Web API round trip plus one
 * UPDATE. The metadata below names the outbox row, so such a duplicate can be found.
 */
export function createNoticeSender(client: WebClient): SendNotice {
  return async ({ outboxId, to, notice }) => {
    const channel = 'userId' in to ? to.userId : to.channelId;
    const message = renderNotice(notice);
    let posted: ChatPostMessageResponse;
    try {
      posted = await client.chat.postMessage({
        channel,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
        metadata: { event_type: OUTBOX_METADATA_EVENT_TYPE, event_payload: { outbox_id: outboxId } },
      });
    } catch (error) {
      throw classifySlackError(error, channel);
    }
    if (posted.channel === undefined || posted.ts === undefined) return undefined;
    return { channelId: posted.channel, ts: posted.ts };
  };
}

/**
 * Wraps a Web API error as `PermanentDeliveryError` when retrying cannot help and as
 * `RetryableDeliveryError` otherwise, with Slack's `Retry-After` for rate limits. Errors that are
 * not from the Web API client come back unchanged. `alsoPermanent` adds the errors of one method
 * that no retry fixes, such as `UPDATE_PERMANENT_ERRORS` for chat.update.
 */
export function classifySlackError(error: unknown, channel: string, alsoPermanent?: ReadonlySet<string>): unknown {
  if (error instanceof WebAPIRateLimitedError) {
    return new RetryableDeliveryError('rate_limited', `Slack rate-limited the message to ${channel}`, {
      cause: error,
      retryAfterMs: error.retryAfter * 1000,
    });
  }
  if (error instanceof WebAPIPlatformError) {
    const slackError = typeof error.data.error === 'string' ? error.data.error : 'unknown_error';
    const message = `Slack rejected the message to ${channel}: ${slackError}`;
    if (PERMANENT_ERRORS.has(slackError) || alsoPermanent?.has(slackError) === true) {
      return new PermanentDeliveryError(slackError, message, { cause: error });
    }
    const code = NEEDS_ADMIN_ERRORS.has(slackError) ? slackError : `slack_${slackError}`;
    return new RetryableDeliveryError(code, message, { cause: error });
  }
  if (error instanceof WebAPIHTTPError) {
    return new RetryableDeliveryError(`http_${error.statusCode}`, `Slack returned HTTP ${error.statusCode}`, {
      cause: error,
    });
  }
  if (error instanceof WebAPIRequestError) {
    return new RetryableDeliveryError('network_error', `request to Slack failed: ${error.original.message}`, {
      cause: error,
    });
  }
  return error;
}

/** Reports whether a delivery error means the target channel must be fixed by an administrator. */
export function isChannelProblem(error: unknown): error is RetryableDeliveryError {
  return (
    error instanceof RetryableDeliveryError &&
    ['channel_not_found', 'not_in_channel', 'is_archived', 'missing_scope'].includes(error.code)
  );
}
