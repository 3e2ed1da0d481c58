import type { App } from '@slack/bolt';
import { z } from 'zod';
import { refreshGroupApproverHomes } from '../services/approver-requests.js';
import type { SlackDeps } from './deps.js';
import type { UserGroupChange } from './user-group-cache.js';

// Slack's user group ids start with S, as the role settings require.
const userGroupIdSchema = z.string().regex(/^S[A-Z0-9]{2,}$/);

// https://docs.slack.dev/reference/events/subteam_members_changed: only the change, with the
// users added and removed.
const membersChangedSchema = z.object({
  subteam_id: userGroupIdSchema,
  added_users: z.array(z.string()).optional().catch(undefined),
  removed_users: z.array(z.string()).optional().catch(undefined),
});

// https://docs.slack.dev/reference/events/subteam_updated: the whole group after a change of its
// name, handle, description or members, or after it was disabled (`date_delete` above 0). An
// unreadable `date_delete` counts as a change of members, which still drops the cached entry.
const updatedSchema = z.object({
  subteam: z.object({
    id: userGroupIdSchema,
    date_delete: z.coerce.number().optional().catch(undefined),
  }),
});

/**
 * Registers `subteam_members_changed` and `subteam_updated`, which drop the changed group's
 * cached members, so that a member removed in Slack can no longer decide once the event arrives.
 * They also refresh the Home tabs of the group's members asked for pending requests.
 * Slack sends an event again when the app did not acknowledge it in time, and dropping the entry
 * again is harmless.
 */
export function registerUserGroupEvents(app: App, deps: SlackDeps): void {
  app.event('subteam_members_changed', async ({ event, body }) => {
    const parsed = membersChangedSchema.safeParse(event);
    if (!parsed.success) {
      deps.logger.warn({ eventId: body.event_id, eventType: event.type, issues: parsed.error.issues }, 'invalid event ignored');
      return;
    }
    const { subteam_id: groupId, added_users: added, removed_users: removed } = parsed.data;
    await invalidate(deps, groupId, 'members_changed', body.event_id, { addedUserIds: added, removedUserIds: removed });
  });

  app.event('subteam_updated', async ({ event, body }) => {
    const parsed = updatedSchema.safeParse(event);
    if (!parsed.success) {
      deps.logger.warn({ eventId: body.event_id, eventType: event.type, issues: parsed.error.issues }, 'invalid event ignored');
      return;
    }
    const { id: groupId, date_delete: deletedAt } = parsed.data.subteam;
    await invalidate(deps, groupId, deletedAt !== undefined && deletedAt > 0 ? 'deleted' : 'members_changed', body.event_id);
  });
}

async function invalidate(
  deps: SlackDeps,
  groupId: string,
  change: UserGroupChange,
  eventId: string,
  fields: Record<string, unknown> = {},
): Promise<void> {
  await deps.userGroupCache.invalidate(groupId, change);
  deps.logger.info({ groupId, change, eventId, ...fields }, 'user group changed in Slack; cached members invalidated');
  // After the invalidation, so that the refreshed tabs list the group's members as Slack has them now.
  try {
    await refreshGroupApproverHomes(deps.context.db, groupId);
  } catch (error) {
    deps.logger.warn({ err: error, groupId, eventId }, 'failed to queue Home tab refreshes after a user group change; tabs update when opened');
  }
}
