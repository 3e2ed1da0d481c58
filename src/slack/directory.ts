import { ErrorCode, type WebClient } from '@slack/web-api';
import type { Directory } from '../services/context.js';

/** Thrown when Slack has no user group with the given id. */
export class UnknownUserGroupError extends Error {
  readonly groupId: string;

  constructor(groupId: string) {
    super(`Slack has no user group ${groupId}`);
    this.name = 'UnknownUserGroupError';
    this.groupId = groupId;
  }
}

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
