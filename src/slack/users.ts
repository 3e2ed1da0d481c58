import { ErrorCode, type WebClient } from '@slack/web-api';
import { UserError } from '../errors.js';
import { recordUserLookup } from '../services/directory.js';
import type { SlackDeps } from './deps.js';

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

/** What a `users.info` lookup showed: the user's time zone, or that Slack has no such active user. */
export type UserLookup = { found: true; tz: string } | { found: false; problem: 'deactivated' | 'unknown' };

/**
 * Looks a user up with `users.info` and records in the directory whether Slack reports them
 * deactivated, so the administrators' dashboard can flag deactivated holders.
 */
export async function lookUpUser(deps: SlackDeps, userId: string): Promise<UserLookup> {
  try {
    const response = await deps.client.users.info({ user: userId });
    const deactivated = response.user?.deleted === true;
    await recordUserLookup(deps.context, userId, deactivated);
    return deactivated ? { found: false, problem: 'deactivated' } : { found: true, tz: response.user?.tz ?? 'UTC' };
  } catch (error) {
    if (isSlackError(error, 'user_not_found')) return { found: false, problem: 'unknown' };
    throw error;
  }
}

/** Finds the user with an e-mail address with `users.lookupByEmail` (scope `users:read.email`). */
export async function findUserIdByEmail(client: WebClient, email: string): Promise<string | undefined> {
  try {
    const response = await client.users.lookupByEmail({ email });
    return response.user?.id;
  } catch (error) {
    if (isSlackError(error, 'users_not_found')) return undefined;
    throw error;
  }
}

/** Throws `user_not_found` unless `userId` is an active Slack user; `who` names them in the message. */
export async function requireActiveUser(deps: SlackDeps, userId: string, who: string): Promise<string> {
  const lookup = await lookUpUser(deps, userId);
  if (lookup.found) return lookup.tz;
  throw new UserError(
    'user_not_found',
    lookup.problem === 'deactivated'
      ? `<@${userId}> (${who}) is deactivated in Slack.`
      : `Slack knows no user ${userId} (${who}); mention them as @name.`,
  );
}
