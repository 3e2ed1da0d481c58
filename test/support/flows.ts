/**
 * Steps that integration tests repeat against a running test app: a command and its reply, a
 * decision button and its reply, a role's settings, the requester's waiting DM, an activation's
 * status, a change of a user group in Slack.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { DEFAULT_ROLE_SETTINGS, type RoleSettings } from '../../src/domain/role-settings.js';
import { listRoles } from '../../src/services/roles.js';
import { updateRoleSettings } from '../../src/services/role-settings.js';
import { REQUEST_CANCEL_ACTION } from '../../src/slack/notice-messages.js';
import { userGroupCacheKeys } from '../../src/slack/user-group-cache.js';
import type { RecordedCall } from './fake-slack.js';
import { eventually, messageText, replyTo, type TestApp } from './harness.js';
import { subteamMembersChanged, subteamUpdated } from './slack-requests.js';

/** Sends `/pim <text>` as `userId` and returns the reply the app sent to its response URL. */
export async function commandReply(app: TestApp, userId: string, text: string): Promise<string> {
  const result = await app.sender.command(userId, text);
  expect(result.status).toBe(200);
  return replyTo(app.fake, result.responseUrl);
}

/** Clicks a decision button (Approve, Deny, Cancel) of a request and returns the HTTP result. */
export async function clickDecision(app: TestApp, userId: string, actionId: string, activationId: string) {
  const result = await app.sender.action(userId, { actionId, value: activationId, blockId: `decide:${activationId}`, actionType: 'button' });
  expect(result.status).toBe(200);
  return result;
}

/** Clicks a decision button of a request and returns the reply to the click. */
export async function decisionReply(app: TestApp, userId: string, actionId: string, activationId: string): Promise<string> {
  const result = await clickDecision(app, userId, actionId, activationId);
  const call = await app.fake.waitFor('response_url', (candidate) => candidate.url === result.responseUrl);
  return messageText(call.body);
}

/** Changes the settings of the role whose slug starts with `slug`, as `actorId`, keeping the rest. */
export async function configureRole(app: TestApp, actorId: string, slug: string, change: Partial<RoleSettings>): Promise<void> {
  const role = (await listRoles(app.runtime.context.db)).find((candidate) => candidate.slug.startsWith(slug));
  if (role === undefined) throw new Error(`no role ${slug}`);
  await updateRoleSettings(app.runtime.context, {
    actorId,
    roleId: role.id,
    settings: { ...DEFAULT_ROLE_SETTINGS, ...role.settings, ...change },
  });
}

/** Waits until the requester's "waiting for approval" DM of a request is on record, and returns where it went. */
export async function recordedWaitingDm(app: TestApp, activationId: string): Promise<{ channelId: string; ts: string }> {
  return eventually(async () => {
    const [row] = await app.sql<{ channelId: string; ts: string }[]>`
      select channel_id as "channelId", ts from requester_messages where activation_id = ${activationId}`;
    return row;
  });
}

/**
 * Waits for a `chat.update` of the requester's "waiting for approval" DM of a request whose text
 * contains `outcome`, and returns it.
 */
export async function waitingDmRewrite(app: TestApp, activationId: string, outcome: string): Promise<RecordedCall> {
  const dm = await recordedWaitingDm(app, activationId);
  return eventually(async () =>
    app.fake
      .calls('chat.update')
      .find((call) => call.body.channel === dm.channelId && call.body.ts === dm.ts && messageText(call.body).includes(outcome)),
  );
}

/** Reports whether a posted or updated message has the requester's Cancel button. */
export function hasCancelButton(call: RecordedCall): boolean {
  return JSON.stringify(call.body.blocks).includes(`"${REQUEST_CANCEL_ACTION}"`);
}

/** Reads an activation's or request's status, or `undefined` when there is no such row. */
export async function activationStatus(app: TestApp, activationId: string): Promise<string | undefined> {
  const [row] = await app.sql<{ status: string }[]>`select status from activations where id = ${activationId}`;
  return row?.status;
}

// The audit chain's transaction-scoped advisory lock (src/services/audit.ts). Holding it pauses
// every auditing transaction just before its commit, which lets a test order two of them.
const AUDIT_CHAIN_LOCK_KEY = 7_301_145_002;

/** Waits until `count` sessions of the app's database are blocked on a lock. */
async function lockWaiters(app: TestApp, count: number): Promise<void> {
  await eventually(async () => {
    const [row] = await app.sql<{ waiting: number }[]>`
      select count(*)::int as waiting from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`;
    return (row?.waiting ?? 0) >= count ? true : undefined;
  }, 10_000);
}

/**
 * Runs `first` until it waits for the audit chain lock, then `second` until it waits for a lock
 * too, then lets both finish. Returns their results in order.
 */
export async function interleaveAtAuditLock<A, B>(app: TestApp, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
  const holder = await app.sql.reserve();
  try {
    await holder`begin`;
    await holder`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_KEY})`;
    const firstDone = first();
    await lockWaiters(app, 1);
    const secondDone = second();
    await lockWaiters(app, 2);
    await holder`commit`;
    return [await firstDone, await secondDone];
  } finally {
    holder.release();
  }
}

/** Reads the id of the last change event of a user group that the app applied to its cache. */
export async function userGroupChangeId(app: TestApp, groupId: string): Promise<string | null> {
  return app.runtime.redis.commands.get(userGroupCacheKeys(app.redisPrefix, groupId).changes);
}

/**
 * Waits until every approval DM of a request was sent or skipped. Each DM checks its approver's
 * groups before it goes out, so a test that then makes Slack fail a group read can tell which
 * read gets the failure.
 */
export async function approvalDmsSettled(app: TestApp, activationId: string): Promise<void> {
  await eventually(async () => {
    const [row] = await app.sql<{ waiting: number }[]>`
      select count(*)::int as waiting from outbox
      where kind = 'approval_request' and payload->>'activationId' = ${activationId} and delivered_at is null`;
    return row?.waiting === 0 ? true : undefined;
  }, 15_000);
}

/**
 * Sends a `subteam_members_changed` or `subteam_updated` event, signed as Slack sends it, and
 * waits until the app has applied it: Bolt acknowledges an event before its listener runs.
 * Returns the event id, for sending it again as Slack's retries do.
 */
export async function sendUserGroupEvent(app: TestApp, event: Record<string, unknown>, options: { eventId?: string } = {}): Promise<string> {
  const subteam = event.subteam as { id?: unknown } | undefined;
  const groupId = String(event.subteam_id ?? subteam?.id);
  const before = await userGroupChangeId(app, groupId);
  const eventId = options.eventId ?? `Ev${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;
  const result = await app.sender.event(event, { eventId });
  expect(result.status).toBe(200);
  await eventually(async () => ((await userGroupChangeId(app, groupId)) !== before ? true : undefined), 5_000);
  return eventId;
}

/** Sets a user group's members in the fake Slack and sends the `subteam_members_changed` event Slack would. */
export async function changeUserGroup(app: TestApp, groupId: string, members: string[]): Promise<void> {
  const before = app.fake.standIn.workspace.userGroup(groupId)?.memberIds ?? [];
  app.fake.setUserGroup(groupId, members);
  await sendUserGroupEvent(
    app,
    subteamMembersChanged(groupId, {
      added: members.filter((userId) => !before.includes(userId)),
      removed: before.filter((userId) => !members.includes(userId)),
    }),
  );
}

/**
 * Disables a user group in the fake Slack, which then returns `no_such_subteam`, and sends the
 * `subteam_updated` event with `date_delete` that Slack would.
 */
export async function disableUserGroup(app: TestApp, groupId: string): Promise<void> {
  const members = app.fake.standIn.workspace.userGroup(groupId)?.memberIds ?? [];
  app.fake.removeUserGroup(groupId);
  await sendUserGroupEvent(app, subteamUpdated(groupId, members, { disabled: true }));
}
