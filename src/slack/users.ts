import { ErrorCode, type WebClient } from '@slack/web-api';
import { UserError } from '../errors.js';

/**
 * Reads a user's IANA time zone with `users.info`. An unknown or deactivated user is a
 * `user_not_found` error that names `who` ("you", "assignee") for the reply.
 */
export async function readUserTimeZone(client: WebClient, userId: string, who: string): Promise<string> {
  try {
    const response = await client.users.info({ user: userId });
    if (response.user?.deleted === true) {
      throw new UserError('user_not_found', `<@${userId}> (${who}) is deactivated in Slack.`);
    }
    return response.user?.tz ?? 'UTC';
  } catch (error) {
    if (isSlackError(error, 'user_not_found')) {
      throw new UserError('user_not_found', `Slack knows no user ${userId} (${who}); mention them as @name.`);
    }
    throw error;
  }
}

function isSlackError(error: unknown, slackError: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { code?: unknown; data?: { error?: unknown } };
  return candidate.code === ErrorCode.PlatformError && candidate.data?.error === slackError;
}
