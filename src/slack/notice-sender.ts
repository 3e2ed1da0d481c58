import { ErrorCode, type WebClient } from '@slack/web-api';
import { PermanentDeliveryError } from '../errors.js';
import type { Notice, NoticeRecipient } from '../services/notices.js';
import { renderNotice } from './notice-messages.js';

// Slack platform errors that a retry cannot fix: the message or its target is wrong.
// https://docs.slack.dev/reference/methods/chat.postMessage#errors
const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'user_not_found',
  'cannot_dm_bot',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'no_text',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
]);

/** Sends a rendered notice to a user's DM with the app or to a channel. */
export type SendNotice = (to: NoticeRecipient, notice: Notice) => Promise<void>;

/**
 * Creates the sender the outbox uses. `chat.postMessage` to a user ID posts in the app's DM
 * with that user, so no `im:write` scope or `conversations.open` is needed.
 */
export function createNoticeSender(client: WebClient): SendNotice {
  return async (to, notice) => {
    const channel = 'userId' in to ? to.userId : to.channelId;
    const message = renderNotice(notice);
    try {
      await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false });
    } catch (error) {
      throw classifySlackError(error, channel);
    }
  };
}

/** Wraps a Web API error as permanent when retrying cannot help; returns others unchanged. */
export function classifySlackError(error: unknown, channel: string): unknown {
  if (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === ErrorCode.PlatformError) {
    const slackError = (error as { data?: { error?: unknown } }).data?.error;
    if (typeof slackError === 'string' && PERMANENT_ERRORS.has(slackError)) {
      return new PermanentDeliveryError(slackError, `Slack rejected the message to ${channel}: ${slackError}`, {
        cause: error,
      });
    }
  }
  return error;
}
