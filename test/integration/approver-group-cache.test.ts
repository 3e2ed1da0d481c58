import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { USER_GROUP_CACHE_TTL_MS, userGroupCacheKeys } from '../../src/slack/user-group-cache.js';
import { FakeSlack, type RecordedCall } from '../support/fake-slack.js';
import { createTestEnvironment, eventually, startTestApp, type TestApp, type TestEnvironment } from '../support/harness.js';
import {
  activationStatus,
  approvalDmsSettled,
  changeUserGroup,
  clickDecision,
  commandReply,
  configureRole,
  decisionReply,
  sendUserGroupEvent,
} from '../support/flows.js';
import { subteamMembersChanged, subteamUpdated } from '../support/slack-requests.js';

// Members of approver groups, and the people who request roles they approve.
const ADMIN = 'UADMINGC1';
const MEMBER_A = 'UMEMBGC01';
const MEMBER_B = 'UMEMBGC02';
const MEMBER_C = 'UMEMBGC03';
const MEMBER_D = 'UMEMBGC04';
const REQUESTERS = ['UREQGC001', 'UREQGC002', 'UREQGC003', 'UREQGC004', 'UREQGC005'] as const;
const [REQUESTER_1, REQUESTER_2, REQUESTER_3, REQUESTER_4, REQUESTER_5] = REQUESTERS;
const CACHED_GROUP = 'SGCCACHE1';
const CHANGING_GROUP = 'SGCEVENT1';
const DISABLED_GROUP = 'SGCDISAB1';
const KEPT_GROUP = 'SGCKEPT01';
const RACED_GROUP = 'SGCRACE01';
const LIMITED_GROUP = 'SGCLIMIT1';
const FILING_GROUP = 'SGCFILE01';
// Long enough that a click held up by it would miss REPLY_BUDGET_MS by far.
const RETRY_AFTER_SECONDS = 20;
// A reply that arrives within this did not wait for Slack's Retry-After.
const REPLY_BUDGET_MS = 5_000;
const JUSTIFICATION = 'incident triage for INC-4242';
const APPROVE = 'approval_approve';

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [ADMIN, MEMBER_A, MEMBER_B, MEMBER_C, MEMBER_D, ...REQUESTERS]) fake.setUser({ id, tz: 'UTC' });
  fake.setUserGroup(CACHED_GROUP, [MEMBER_A, MEMBER_B]);
  fake.setUserGroup(CHANGING_GROUP, [MEMBER_A, MEMBER_B, MEMBER_C]);
  fake.setUserGroup(DISABLED_GROUP, [MEMBER_D]);
  fake.setUserGroup(KEPT_GROUP, [MEMBER_B]);
  fake.setUserGroup(RACED_GROUP, [MEMBER_A, MEMBER_B]);
  fake.setUserGroup(LIMITED_GROUP, [MEMBER_A]);
  fake.setUserGroup(FILING_GROUP, [MEMBER_A, MEMBER_B]);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter((part) => part !== '')) logLines.push(JSON.parse(line));
      done();
    },
  });
  app = await startTestApp({ environment, fake, admins: [ADMIN], logger: createLogger('info', sink) });

  const groupsByRole: [string, string[]][] = [
    ['billing', [CACHED_GROUP]],
    ['password', [CHANGING_GROUP]],
    ['service', [DISABLED_GROUP, KEPT_GROUP]],
    ['user-administrator', [RACED_GROUP]],
    ['global', [LIMITED_GROUP]],
    ['security', [FILING_GROUP]],
  ];
  for (const [slug, groups] of groupsByRole) {
    await configureRole(app, ADMIN, slug, { requireApproval: true, approvers: { users: [], groups } });
    for (const requester of REQUESTERS) {
      expect(await commandReply(app, ADMIN, `assign <@${requester}> ${slug} eligible`)).toContain('is now eligible');
    }
  }
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

/** Files a request through `/pim activate` and returns its id. */
async function requestRole(userId: string, slug: string): Promise<string> {
  expect(await commandReply(app, userId, `activate ${slug} 1h ${JUSTIFICATION}`)).toContain('waiting for approval');
  const [row] = await app.sql<{ id: string }[]>`
    select v.id from activations v join roles r on r.id = v.role_id
    where v.user_id = ${userId} and r.slug like ${`${slug}%`} and v.status = 'pending_approval'`;
  if (row === undefined) throw new Error(`no pending request of ${userId} for ${slug}`);
  return row.id;
}

function groupReads(groupId: string): RecordedCall[] {
  return fake.calls('usergroups.users.list').filter((call) => call.body.usergroup === groupId);
}

function approvalDmTo(approverId: string, activationId: string): Promise<RecordedCall> {
  return fake.waitFor(
    'chat.postMessage',
    (call) => call.body.channel === approverId && JSON.stringify(call.body.blocks).includes(activationId),
  );
}

/** Ends the wait that a 429 recorded for every process, as if its Retry-After had passed. */
async function endRateLimit(): Promise<void> {
  await app.runtime.redis.commands.del(userGroupCacheKeys(app.redisPrefix, LIMITED_GROUP).rateLimited);
}

/** Returns the reply to a click and how long it took to arrive. */
async function timedClick(userId: string, activationId: string): Promise<{ text: string; elapsedMs: number }> {
  const startedAt = performance.now();
  const text = await decisionReply(app, userId, APPROVE, activationId);
  return { text, elapsedMs: performance.now() - startedAt };
}

function logLinesWith(message: string): Record<string, unknown>[] {
  return logLines.filter((line) => line.msg === message);
}

describe('cached approver groups', () => {
  it('second decision makes no Slack call', async () => {
    const first = await requestRole(REQUESTER_1, 'billing');
    const second = await requestRole(REQUESTER_2, 'billing');

    expect(await decisionReply(app, MEMBER_A, APPROVE, first)).toContain('You approved');
    expect(await decisionReply(app, MEMBER_B, APPROVE, second)).toContain('You approved');
    expect(groupReads(CACHED_GROUP)).toHaveLength(1);
    const ttlMs = await app.runtime.redis.commands.pttl(userGroupCacheKeys(app.redisPrefix, CACHED_GROUP).members);
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(USER_GROUP_CACHE_TTL_MS);
  });

  it('removal event rejects the removed member at once', async () => {
    const first = await requestRole(REQUESTER_1, 'password');
    expect(await decisionReply(app, MEMBER_C, APPROVE, first)).toContain('You approved');
    const second = await requestRole(REQUESTER_2, 'password');
    expect(groupReads(CHANGING_GROUP)).toHaveLength(1);

    fake.setUserGroup(CHANGING_GROUP, [MEMBER_B, MEMBER_C]);
    const removal = subteamMembersChanged(CHANGING_GROUP, { removed: [MEMBER_A] });
    const eventId = await sendUserGroupEvent(app, removal);

    expect(await decisionReply(app, MEMBER_A, APPROVE, second)).toContain('no longer in an approver group');
    expect(groupReads(CHANGING_GROUP)).toHaveLength(2);
    expect(await activationStatus(app, second)).toBe('pending_approval');

    // Slack sends an event again when the app did not acknowledge it in time. The retry changes nothing.
    await sendUserGroupEvent(app, removal, { eventId });
    expect(await decisionReply(app, MEMBER_A, APPROVE, second)).toContain('no longer in an approver group');
    expect(await decisionReply(app, MEMBER_B, APPROVE, second)).toContain('You approved');
    expect(await activationStatus(app, second)).toBe('active');
    const applied = logLinesWith('user group changed in Slack; cached members invalidated').filter((line) => line.eventId === eventId);
    expect(applied).toHaveLength(2);
    expect(applied[0]?.removedUserIds).toEqual([MEMBER_A]);
  });

  it('invalid group event is ignored', async () => {
    const result = await app.sender.event({ type: 'subteam_members_changed', subteam_id: 'not a group' });

    expect(result.status).toBe(200);
    await eventually(async () => (logLinesWith('invalid event ignored').length > 0 ? true : undefined), 5_000);
    expect(logLinesWith('invalid event ignored')[0]?.eventType).toBe('subteam_members_changed');
  });

  it('disabled group counts as empty at once', async () => {
    const id = await requestRole(REQUESTER_1, 'service');
    const readsBefore = groupReads(DISABLED_GROUP).length;

    // Slack may still list a disabled group's members. The event alone takes their power away.
    await sendUserGroupEvent(app, subteamUpdated(DISABLED_GROUP, [MEMBER_D], { disabled: true }));

    expect(await decisionReply(app, MEMBER_D, APPROVE, id)).toContain('no longer in an approver group');
    expect(groupReads(DISABLED_GROUP)).toHaveLength(readsBefore);
    expect(await decisionReply(app, MEMBER_B, APPROVE, id)).toContain('You approved');

    // A new request goes to the members of the other group only.
    const next = await requestRole(REQUESTER_2, 'service');
    const [approvers] = await app.sql<{ ids: string[] }[]>`
      select array_agg(approver_id order by approver_id) as ids from approval_approvers where activation_id = ${next}`;
    expect(approvers?.ids).toEqual([MEMBER_B]);
    expect(groupReads(DISABLED_GROUP)).toHaveLength(readsBefore);
  });

  it('event during a read makes it read again', async () => {
    const id = await requestRole(REQUESTER_1, 'user-administrator');
    await sendUserGroupEvent(app, subteamUpdated(RACED_GROUP, [MEMBER_A, MEMBER_B]));
    const readsBefore = groupReads(RACED_GROUP).length;
    const heldRead = fake.holdNext('usergroups.users.list', (args) => args.usergroup === RACED_GROUP);

    const click = clickDecision(app, MEMBER_A, APPROVE, id);
    await heldRead.arrived;
    // The change arrives while the read is under way, so the app cannot tell whether Slack's
    // response predates it, and reads again.
    await changeUserGroup(app, RACED_GROUP, [MEMBER_B]);
    heldRead.release();
    const { responseUrl } = await click;
    const reply = await fake.waitFor('response_url', (call) => call.url === responseUrl);

    expect(JSON.stringify(reply.body)).toContain('no longer in an approver group');
    expect(groupReads(RACED_GROUP)).toHaveLength(readsBefore + 2);
    expect(await activationStatus(app, id)).toBe('pending_approval');
  });
});

describe('Slack rate limit on user groups', () => {
  it('429 tells the wait and decides nothing', async () => {
    const ids: string[] = [];
    for (const requester of REQUESTERS) ids.push(await requestRole(requester, 'global'));
    for (const id of ids) await approvalDmsSettled(app, id);
    await sendUserGroupEvent(app, subteamUpdated(LIMITED_GROUP, [MEMBER_A]));
    const readsBefore = groupReads(LIMITED_GROUP).length;
    // Enough for every click to get its own 429, as they would without a Retry-After shared by all.
    fake.failNext('usergroups.users.list', { retryAfterSeconds: RETRY_AFTER_SECONDS, times: ids.length });

    try {
      // Settled as they come, so that a failure below leaves no click rejected unhandled.
      const clicks = Promise.allSettled(ids.map((id) => timedClick(MEMBER_A, id)));
      await fake.waitFor('usergroups.users.list', (call) => call.body.usergroup === LIMITED_GROUP && call.status === 429);
      // Other people's commands do not wait either. With a client that waits out the
      // Retry-After, four such clicks fill every slot for work after an ack for that long.
      const startedAt = performance.now();
      const status = await commandReply(app, REQUESTER_1, 'status');
      const statusElapsedMs = performance.now() - startedAt;
      const replies = (await clicks).map((click) => {
        if (click.status === 'rejected') throw click.reason;
        return click.value;
      });

      expect(status).toContain('Global Administrator');
      expect(statusElapsedMs).toBeLessThan(REPLY_BUDGET_MS);
      expect(replies.some((reply) => reply.text.includes(`Try again in ${RETRY_AFTER_SECONDS} seconds`))).toBe(true);
      for (const reply of replies) {
        expect(reply.text).toMatch(/nothing was decided\. Try again in \d+ seconds/);
        expect(reply.elapsedMs).toBeLessThan(REPLY_BUDGET_MS);
      }
      expect(groupReads(LIMITED_GROUP)).toHaveLength(readsBefore + 1);
      for (const id of ids) expect(await activationStatus(app, id)).toBe('pending_approval');

      const [logged] = logLinesWith('Slack rate-limited reading approver groups; decision rejected');
      expect(ids).toContain(logged?.activationId);
      expect(logged).toMatchObject({ approverId: MEMBER_A, groupIds: [LIMITED_GROUP], retryAfterMs: RETRY_AFTER_SECONDS * 1000 });
      expect(logged?.roleId).toEqual(expect.any(String));
      const logText = JSON.stringify(logLines);
      expect(logText).not.toContain(fake.botToken);
      expect(logText).not.toContain(JUSTIFICATION);
    } finally {
      fake.clearFailures('usergroups.users.list');
      await endRateLimit();
    }

    expect(await decisionReply(app, MEMBER_A, APPROVE, ids[0] ?? '')).toContain('You approved');
  });

  it('filing uses a fresh entry while Slack refuses', async () => {
    const first = await requestRole(REQUESTER_1, 'security');
    fake.failNext('usergroups.users.list', { retryAfterSeconds: RETRY_AFTER_SECONDS });

    try {
      const second = await requestRole(REQUESTER_2, 'security');
      await approvalDmTo(MEMBER_A, second);
      await approvalDmTo(MEMBER_B, second);
      expect(groupReads(FILING_GROUP)).toHaveLength(1);
      expect(first).not.toBe(second);

      // Without a fresh entry, the requester gets the time to wait and nothing is filed.
      await sendUserGroupEvent(app, subteamUpdated(FILING_GROUP, [MEMBER_A, MEMBER_B]));
      const startedAt = performance.now();
      const reply = await commandReply(app, REQUESTER_3, `activate security 1h ${JUSTIFICATION}`);
      expect(reply).toContain(`Try again in ${RETRY_AFTER_SECONDS} seconds`);
      expect(performance.now() - startedAt).toBeLessThan(REPLY_BUDGET_MS);
      const filed = await app.sql`
        select 1 from activations v join roles r on r.id = v.role_id
        where v.user_id = ${REQUESTER_3} and r.slug like 'security%'`;
      expect(filed).toHaveLength(0);
      expect(logLinesWith('Slack rate-limited reading approver groups; request not filed').at(-1)).toMatchObject({
        userId: REQUESTER_3,
        groupIds: [FILING_GROUP],
        retryAfterMs: RETRY_AFTER_SECONDS * 1000,
      });
    } finally {
      await endRateLimit();
    }

    const third = await requestRole(REQUESTER_3, 'security');
    await approvalDmTo(MEMBER_A, third);
    await approvalDmTo(MEMBER_B, third);
  });

  it('one-second wait reads singular', async () => {
    const activateCommand = `activate security 1h ${JUSTIFICATION}`;
    await sendUserGroupEvent(app, subteamUpdated(FILING_GROUP, [MEMBER_A, MEMBER_B]));
    fake.failNext('usergroups.users.list', { retryAfterSeconds: 1 });
    try {
      expect(await commandReply(app, REQUESTER_4, activateCommand)).toContain('was not filed. Try again in 1 second.');
    } finally {
      await endRateLimit();
    }

    const id = await requestRole(REQUESTER_4, 'security');
    await approvalDmsSettled(app, id);
    await sendUserGroupEvent(app, subteamUpdated(FILING_GROUP, [MEMBER_A, MEMBER_B]));
    fake.failNext('usergroups.users.list', { retryAfterSeconds: 1 });
    try {
      expect(await decisionReply(app, MEMBER_A, APPROVE, id)).toContain('nothing was decided. Try again in 1 second.');
    } finally {
      await endRateLimit();
    }
  });
});

describe('Slack rejects the app on user groups', () => {
  it('says waiting will not help', async () => {
    await sendUserGroupEvent(app, subteamUpdated(FILING_GROUP, [MEMBER_A, MEMBER_B]));
    fake.failNext('usergroups.users.list', { error: 'missing_scope' });

    const reply = await commandReply(app, REQUESTER_5, `activate security 1h ${JUSTIFICATION}`);

    expect(reply).toContain('(missing_scope), so your request for Security Administrator was not filed');
    expect(reply).toContain('Trying again will not help');
    const filed = await app.sql`
      select v.id from activations v join roles r on r.id = v.role_id
      where v.user_id = ${REQUESTER_5} and r.slug like 'security%'`;
    expect(filed).toHaveLength(0);
    const [filingLine] = logLinesWith(
      'Slack rejected slack-pim reading approver groups; requests fail until an administrator fixes the installation',
    );
    expect(filingLine).toMatchObject({ level: 50, userId: REQUESTER_5, groupIds: [FILING_GROUP], slackError: 'missing_scope' });

    const id = await requestRole(REQUESTER_5, 'security');
    await approvalDmsSettled(app, id);
    await sendUserGroupEvent(app, subteamUpdated(FILING_GROUP, [MEMBER_A, MEMBER_B]));
    fake.failNext('usergroups.users.list', { error: 'invalid_auth' });

    const decision = await decisionReply(app, MEMBER_A, APPROVE, id);

    expect(decision).toContain('(invalid_auth), so nothing was decided. Trying again will not help');
    expect(await activationStatus(app, id)).toBe('pending_approval');
    const [decisionLine] = logLinesWith(
      'Slack rejected slack-pim reading approver groups; decisions fail until an administrator fixes the installation',
    );
    expect(decisionLine).toMatchObject({ level: 50, activationId: id, approverId: MEMBER_A, slackError: 'invalid_auth' });
  });
});
