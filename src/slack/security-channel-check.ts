import { WebAPIPlatformError, type WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';
import type { ServiceContext } from '../services/context.js';
import { recordSecurityChannelOk, recordSecurityChannelProblem } from '../services/security-channel.js';

// The conversations.info error that means posts to the channel fail until someone acts. Other
// errors (missing_scope on an app installed before it requested channels:read, network errors)
// tell nothing about posting, so they are only logged.
// https://docs.slack.dev/reference/methods/conversations.info#errors
const CHANNEL_NOT_FOUND = 'channel_not_found';

/**
 * Checks at start-up that the app can post to the security channel, with `conversations.info`
 * (scopes `channels:read` and `groups:read`). The channel must exist, not be archived, and have
 * the app as a member. A problem is logged at error and recorded for `/readyz` and the
 * dashboard. Start-up goes on, and the posts wait in the outbox until the problem is fixed.
 */
export async function checkSecurityChannel(
  client: WebClient,
  context: Pick<ServiceContext, 'db' | 'clock'>,
  channelId: string,
  logger: Logger,
): Promise<void> {
  let problem: string | undefined;
  try {
    const info = await client.conversations.info({ channel: channelId });
    if (info.channel?.is_archived === true) problem = 'is_archived';
    else if (info.channel?.is_member !== true) problem = 'not_in_channel';
  } catch (error) {
    if (!(error instanceof WebAPIPlatformError) || error.data.error !== CHANNEL_NOT_FOUND) {
      logger.warn(
        { err: error, channelId, fix: fixFor('missing_scope') },
        'could not check PIM_SECURITY_CHANNEL; the first post will show whether it works',
      );
      return;
    }
    problem = CHANNEL_NOT_FOUND;
  }
  if (problem === undefined) {
    await recordSecurityChannelOk(context.db, channelId, context.clock.now());
    return;
  }
  logger.error({ channelId, slackError: problem, fix: fixFor(problem) }, 'slack-pim cannot post to PIM_SECURITY_CHANNEL');
  await recordSecurityChannelProblem(context.db, channelId, problem, context.clock.now());
}

function fixFor(problem: string): string {
  switch (problem) {
    case 'not_in_channel':
      return 'invite the app to the channel: /invite @pim';
    case 'is_archived':
      return 'unarchive the channel or set PIM_SECURITY_CHANNEL to another one';
    case 'channel_not_found':
      return 'check the channel ID (channel details → About), and invite the app if the channel is private';
    default:
      return 'reinstall the app from manifest.yml, which asks for channels:read and groups:read';
  }
}
