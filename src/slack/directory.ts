import { ErrorCode, type WebClient } from '@slack/web-api';
import { UnknownUserGroupError, type Directory } from '../services/context.js';

export { UnknownUserGroupError };

/** Reads user groups with `usergroups.users.list` (scope `usergroups:read`). */
export function createSlackDirectory(client: WebClient): Directory {
  return {
    listUserGroupMembers: async (groupId) => {
      try {
        const response = await client.usergroups.users.list({ usergroup: groupId });
        return response.users ?? [];
      } catch (error) {
        const slackError = (error as { code?: unknown; data?: { error?: unknown } }).data?.error;
        if ((error as { code?: unknown }).code === ErrorCode.PlatformError && slackError === 'no_such_subteam') {
          throw new UnknownUserGroupError(groupId);
        }
        throw error;
      }
    },
  };
}
