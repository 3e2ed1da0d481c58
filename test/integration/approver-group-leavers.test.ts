import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepDueRequests } from '../../src/jobs/sweep.js';
import { REMINDER_GROUP_WAIT_MS, sendDueReminder } from '../../src/services/approval-reminders.js';
import { userGroupCacheKeys } from '../../src/slack/user-group-cache.js';
import { FakeSlack, type RecordedCall } from '../support/fake-slack.js';
import { createTestEnvironment, eventually, messageText, startTestApp, type TestApp, type TestEnvironment } from '../support/harness.js';
import { approvalDmsSettled, changeUserGroup, commandReply, configureRole, sendUserGroupEvent } from '../support/flows.js';
import { subteamUpdated } from '../support/slack-requests.js';

// Members of approver groups who leave them in Slack while requests sent to them wait.
const ADMIN = 'UADMINGL1';
const REQUESTER = 'UREQGL001';
const REMINDED_LEAVER = 'UMEMBGL01';
const REMINDED_STAYER = 'UMEMBGL02';
const LISTED_LEAVER = 'UMEMBGL03';
const LISTED_STAYER = 'UMEMBGL04';
const NAMED = 'UNAMEDGL1';
const LIMITED_MEMBER = 'UMEMBGL05';
const HELD_LEAVER = 'UMEMBGL06';
const HELD_STAYER = 'UMEMBGL07';
const REMINDER_GROUP = 'SGLREMIND';
const LIST_GROUP = 'SGLLISTED';
const LIMITED_GROUP = 'SGLLIMITD';
const HELD_GROUP = 'SGLHELDDM';
const RETRY_AFTER_SECONDS = 20;
// Leaves time to change the group before the outbox sends the rate-limited DMs again.
const DM_RETRY_AFTER_SECONDS = 3;
const REMINDER = 'Reminder:';
const BILLING = 'Billing Administrator';
const USER_ADMINISTRATOR = 'User Administrator';
// The first reminder is due 15 minutes after the request, the second 30 minutes after the first.
const FIRST_REMINDER_MS = 15 * 60_000;
const SECOND_REMINDER_MS = 45 * 60_000;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  const people = [ADMIN, REQUESTER, REMINDED_LEAVER, REMINDED_STAYER, LISTED_LEAVER, LISTED_STAYER, NAMED, LIMITED_MEMBER];
  for (const id of [...people, HELD_LEAVER, HELD_STAYER]) {
    fake.setUser({ id, tz: 'UTC' });
  }
  fake.setUserGroup(REMINDER_GROUP, [REMINDED_LEAVER, REMINDED_STAYER]);
  fake.setUserGroup(LIST_GROUP, [LISTED_LEAVER, LISTED_STAYER]);
  fake.setUserGroup(LIMITED_GROUP, [LIMITED_MEMBER]);
  fake.setUserGroup(HELD_GROUP, [HELD_LEAVER, HELD_STAYER]);
  app = await startTestApp({ environment, fake, admins: [ADMIN] });

  const approversByRole: [string, { users: string[]; groups: string[] }][] = [
    ['billing', { users: [], groups: [REMINDER_GROUP] }],
    ['security-administrator', { users: [], groups: [LIST_GROUP] }],
    // Names a member of LIST_GROUP, so their list has a request that needs no Slack read.
    ['service', { users: [LISTED_STAYER], groups: [] }],
    ['user-administrator', { users: [NAMED], groups: [LIMITED_GROUP] }],
    ['password', { users: [], groups: [HELD_GROUP] }],
  ];
  for (const [slug, approvers] of approversByRole) {
    await configureRole(app, ADMIN, slug, { requireApproval: true, approvers });
    expect(await commandReply(app, ADMIN, `assign <@${REQUESTER}> ${slug} eligible`)).toContain('is now eligible');
  }
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

/** Files a request through `/pim activate` and returns its id and when it was filed. */
async function requestRole(slug: string): Promise<{ id: string; requestedAt: Date }> {
  expect(await commandReply(app, REQUESTER, `activate ${slug} 1h incident follow-up`)).toContain('waiting for approval');
  const [row] = await app.sql<{ id: string; requested_at: Date }[]>`
    select v.id, v.requested_at from activations v join roles r on r.id = v.role_id
    where v.user_id = ${REQUESTER} and r.slug like ${`${slug}%`} and v.status = 'pending_approval'`;
  if (row === undefined) throw new Error(`no pending request for ${slug}`);
  return { id: row.id, requestedAt: row.requested_at };
}

/** Runs `work` with the app's clock at `at`. */
async function at<T>(time: number, work: () => Promise<T>): Promise<T> {
  app.clock.offsetMs = time - Date.now();
  try {
    return await work();
  } finally {
    app.clock.offsetMs = 0;
  }
}

/** Lists the reminders `userId` received of requests for the role named `roleName`, which each test files once. */
function remindersTo(userId: string, roleName: string): RecordedCall[] {
  return fake.messagesTo(userId).filter((call) => messageText(call.body).includes(REMINDER) && messageText(call.body).includes(roleName));
}

async function reminderAudits(activationId: string): Promise<Record<string, unknown>[]> {
  const rows = await app.sql<{ after: Record<string, unknown> }[]>`
    select after from audit_events where action = 'request.reminded' and target_id = ${activationId} order by id`;
  return rows.map((row) => row.after);
}

async function remindersSent(activationId: string): Promise<number> {
  const [row] = await app.sql<{ reminders_sent: number }[]>`select reminders_sent from activations where id = ${activationId}`;
  return row?.reminders_sent ?? -1;
}

/** Waits until the Home refreshes that earlier changes owe are published, so that none lands after a test's own. */
async function settleHomeRefreshes(): Promise<void> {
  await eventually(async () => {
    const [row] = await app.sql<{ waiting: number }[]>`
      select count(*)::int as waiting from outbox where kind = 'home_refresh' and delivered_at is null and failed_at is null`;
    return row?.waiting === 0 ? true : undefined;
  });
}

function publishesTo(userId: string): RecordedCall[] {
  return fake.calls('views.publish').filter((call) => call.body.user_id === userId);
}

/** Waits for the next Home tab the app publishes for `userId` after `before` earlier ones, and returns its view. */
async function nextHomeTab(userId: string, before: number): Promise<string> {
  await fake.waitForCount('views.publish', before + 1, (call) => call.body.user_id === userId);
  return JSON.stringify(publishesTo(userId).at(-1)?.body.view);
}

/** Opens the Home tab as `userId` and returns the view the app published for it. */
async function openHomeTab(userId: string): Promise<string> {
  await settleHomeRefreshes();
  const before = publishesTo(userId).length;
  expect((await app.sender.appHomeOpened(userId)).status).toBe(200);
  return nextHomeTab(userId, before);
}

/** Drops the group's cached members, as a rename in Slack does, so that the next read calls Slack. */
async function dropCachedMembers(groupId: string): Promise<void> {
  await sendUserGroupEvent(app, subteamUpdated(groupId, fake.standIn.workspace.userGroup(groupId)?.memberIds ?? []));
}

/** Ends the wait that a 429 recorded for every process, and any failure still queued. */
async function endSlackFailures(): Promise<void> {
  fake.clearFailures('usergroups.users.list');
  await app.runtime.redis.commands.del(userGroupCacheKeys(app.redisPrefix, LIMITED_GROUP).rateLimited);
}

describe('member removed from an approver group', () => {
  it('gets no more reminders', async () => {
    const request = await requestRole('billing');
    await changeUserGroup(app, REMINDER_GROUP, [REMINDED_STAYER]);

    await at(request.requestedAt.getTime() + FIRST_REMINDER_MS, () => sweepDueRequests(app.runtime.context, app.runtime.context.logger));
    await eventually(async () => (remindersTo(REMINDED_STAYER, BILLING).length === 1 ? true : undefined));

    expect(remindersTo(REMINDED_LEAVER, BILLING)).toHaveLength(0);
    const [audit] = await reminderAudits(request.id);
    expect(audit?.approvers).toEqual([REMINDED_STAYER]);
    expect(audit?.uncheckedGroupMembers).toBeUndefined();
    expect(await remindersSent(request.id)).toBe(1);
  });

  it('no longer sees the request listed', async () => {
    const request = await requestRole('security-administrator');
    expect(await commandReply(app, LISTED_LEAVER, 'requests')).toContain('1 request(s) waiting for you');
    expect(await openHomeTab(LISTED_LEAVER)).toContain(request.id);
    await settleHomeRefreshes();
    const publishedBefore = publishesTo(LISTED_LEAVER).length;

    await changeUserGroup(app, LIST_GROUP, [LISTED_STAYER]);

    // The change event refreshes the tab published before, without the leaver opening it.
    expect(await nextHomeTab(LISTED_LEAVER, publishedBefore)).not.toContain(request.id);
    expect(await commandReply(app, LISTED_LEAVER, 'requests')).toContain('No requests are waiting for your approval');
    expect(await openHomeTab(LISTED_LEAVER)).not.toContain(request.id);
    expect(await commandReply(app, LISTED_STAYER, 'requests')).toContain('1 request(s) waiting for you');
    expect(await openHomeTab(LISTED_STAYER)).toContain(request.id);
  });
});

/** Lists the approval DMs of a request that Slack accepted for `userId`. */
function sentApprovalDms(userId: string, activationId: string): RecordedCall[] {
  return fake.messagesTo(userId).filter((call) => call.status === 200 && JSON.stringify(call.body.blocks ?? []).includes(activationId));
}

describe('approval DM delayed by the outbox', () => {
  it('skips a member who left meanwhile', async () => {
    // Slack rate-limits the next posts, the request's DMs among them, so the outbox sends them
    // again 3 seconds later, after the leaver left the group.
    fake.failNext('chat.postMessage', { retryAfterSeconds: DM_RETRY_AFTER_SECONDS, times: 5 });
    const request = await requestRole('password');
    await changeUserGroup(app, HELD_GROUP, [HELD_STAYER]);

    try {
      await approvalDmsSettled(app, request.id);

      expect(sentApprovalDms(HELD_STAYER, request.id)).toHaveLength(1);
      expect(sentApprovalDms(HELD_LEAVER, request.id)).toHaveLength(0);
    } finally {
      fake.clearFailures('chat.postMessage');
      await commandReply(app, REQUESTER, 'cancel password');
    }
  });

  it('waits while Slack cannot list the group', async () => {
    await changeUserGroup(app, HELD_GROUP, [HELD_LEAVER, HELD_STAYER]);
    fake.failNext('chat.postMessage', { retryAfterSeconds: DM_RETRY_AFTER_SECONDS, times: 5 });
    const request = await requestRole('password');
    // The DMs sent again find no members kept, and Slack rate-limits the read they make.
    await dropCachedMembers(HELD_GROUP);
    fake.failNext('usergroups.users.list', { retryAfterSeconds: 1 });

    try {
      await approvalDmsSettled(app, request.id);

      const [limited] = fake.calls('usergroups.users.list').filter((call) => call.body.usergroup === HELD_GROUP && call.status === 429);
      expect(limited).toBeDefined();
      for (const approverId of [HELD_LEAVER, HELD_STAYER]) {
        const sent = sentApprovalDms(approverId, request.id);
        expect(sent).toHaveLength(1);
        expect(sent[0]?.at).toBeGreaterThan(limited?.at ?? Number.POSITIVE_INFINITY);
      }
    } finally {
      fake.clearFailures('chat.postMessage');
      fake.clearFailures('usergroups.users.list');
      await commandReply(app, REQUESTER, 'cancel password');
    }
  });
});

describe('Slack cannot list the approver groups', () => {
  it('lists leave group requests out', async () => {
    const named = await requestRole('service');
    const [grouped] = await app.sql<{ id: string }[]>`
      select v.id from activations v join roles r on r.id = v.role_id
      where r.slug = 'security-administrator' and v.status = 'pending_approval'`;
    await dropCachedMembers(LIST_GROUP);
    fake.failNext('usergroups.users.list', { retryAfterSeconds: RETRY_AFTER_SECONDS });

    try {
      const reply = await commandReply(app, LISTED_STAYER, 'requests');
      expect(reply).toContain('1 request(s) waiting for you');
      expect(reply).toContain('Service Administrator');
      expect(reply).not.toContain('Security Administrator');
      expect(reply).toContain('1 request sent to you through an approver group is not shown');
      expect(reply).toContain(`Look again in ${RETRY_AFTER_SECONDS} seconds`);

      const home = await openHomeTab(LISTED_STAYER);
      expect(home).toContain(named.id);
      expect(home).not.toContain(grouped?.id);
      expect(home).toContain('is not shown');
    } finally {
      await endSlackFailures();
    }

    expect(await commandReply(app, LISTED_STAYER, 'requests')).toContain('2 request(s) waiting for you');
  });

  it('reminder waits for the groups', async () => {
    const request = await requestRole('user-administrator');
    const dueAt = request.requestedAt.getTime() + FIRST_REMINDER_MS;
    await approvalDmsSettled(app, request.id);
    await dropCachedMembers(LIMITED_GROUP);
    fake.failNext('usergroups.users.list', { retryAfterSeconds: RETRY_AFTER_SECONDS });

    try {
      const postponed = await at(dueAt, () => sendDueReminder(app.runtime.context, request.id));
      expect(postponed.outcome).toBe('retry_later');
      if (postponed.outcome === 'retry_later') {
        expect(postponed.retryAt.getTime() - dueAt).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000 - 1_000);
      }
      expect(await remindersSent(request.id)).toBe(0);
      expect(await reminderAudits(request.id)).toHaveLength(0);
    } finally {
      await endSlackFailures();
    }

    // Once Slack lists the group again, the same reminder goes to everyone, once.
    expect((await at(dueAt + 30_000, () => sendDueReminder(app.runtime.context, request.id))).outcome).toBe('done');
    expect((await at(dueAt + 30_000, () => sendDueReminder(app.runtime.context, request.id))).outcome).toBe('not_due');
    await eventually(async () => (remindersTo(LIMITED_MEMBER, USER_ADMINISTRATOR).length === 1 ? true : undefined));
    await eventually(async () => (remindersTo(NAMED, USER_ADMINISTRATOR).length === 1 ? true : undefined));
    expect(await remindersSent(request.id)).toBe(1);
    expect((await reminderAudits(request.id))[0]?.approvers).toEqual(expect.arrayContaining([NAMED, LIMITED_MEMBER]));
  });

  it('reminder goes without unreadable groups after the wait', async () => {
    const [row] = await app.sql<{ id: string; requested_at: Date }[]>`
      select v.id, v.requested_at from activations v join roles r on r.id = v.role_id
      where r.slug = 'user-administrator' and v.status = 'pending_approval'`;
    if (row === undefined) throw new Error('no pending request for user-administrator');
    const overdueAt = row.requested_at.getTime() + SECOND_REMINDER_MS + REMINDER_GROUP_WAIT_MS + 1_000;
    await dropCachedMembers(LIMITED_GROUP);
    fake.failNext('usergroups.users.list', { error: 'fatal_error', times: 10 });

    try {
      expect((await at(overdueAt, () => sendDueReminder(app.runtime.context, row.id))).outcome).toBe('done');
    } finally {
      await endSlackFailures();
    }

    await eventually(async () => (remindersTo(NAMED, USER_ADMINISTRATOR).length === 2 ? true : undefined));
    expect(remindersTo(LIMITED_MEMBER, USER_ADMINISTRATOR)).toHaveLength(1);
    const second = (await reminderAudits(row.id))[1];
    expect(second?.approvers).toEqual([NAMED]);
    expect(second?.uncheckedGroupMembers).toEqual([LIMITED_MEMBER]);
  });
});
