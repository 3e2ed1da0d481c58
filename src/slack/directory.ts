import { ErrorCode, type WebClient } from '@slack/web-api';
import { SlackAccessError, SlackRateLimitedError, UnknownUserGroupError, type Directory } from '../services/context.js';

export { SlackAccessError, SlackRateLimitedError, UnknownUserGroupError };

const LIST_MEMBERS_METHOD = 'usergroups.users.list';

/**
 * Slack errors that only an administrator can fix: Slack's common errors of a token and its
 * scopes, and `plan_upgrade_required`, which `usergroups.users.list` returns on a plan without
 * user groups (https://api.slack.com/methods/usergroups.users.list).
 */
const ACCESS_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'plan_upgrade_required',
]);

/**
 * Reads user groups with `usergroups.users.list` (scope `usergroups:read`). Build `client` with
 * `rejectRateLimitedCalls: true`, so that a 429 throws `SlackRateLimitedError` at once. Without
 * it @slack/web-api pauses the client's whole request queue for the Retry-After and retries,
 * while the person who clicked waits without a word.
 */
export function createSlackDirectory(client: WebClient): Directory {
  return {
    listUserGroupMembers: async (groupId) => {
      try {
        const response = await client.usergroups.users.list({ usergroup: groupId });
        return response.users ?? [];
      } catch (error) {
        throw translateError(error, groupId);
      }
    },
  };
}

function translateError(error: unknown, groupId: string): unknown {
  const { code, data, retryAfter } = error as { code?: unknown; data?: { error?: unknown }; retryAfter?: unknown };
  if (code === ErrorCode.PlatformError && data?.error === 'no_such_subteam') {
    return new UnknownUserGroupError(groupId);
  }
  if (code === ErrorCode.PlatformError && typeof data?.error === 'string' && ACCESS_ERRORS.has(data.error)) {
    return new SlackAccessError(LIST_MEMBERS_METHOD, data.error);
  }
  if (code === ErrorCode.RateLimitedError && typeof retryAfter === 'number') {
    return new SlackRateLimitedError(LIST_MEMBERS_METHOD, retryAfter * 1000);
  }
  return error;
}
