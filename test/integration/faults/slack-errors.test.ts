import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHomeViewForUser } from '../../../src/slack/home/publish.js';
import { FakeSlack, type RecordedCall } from '../../support/fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  messageText,
  replyTo,
  SECURITY_CHANNEL,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../../support/harness.js';
import { captureLog } from '../../support/log-capture.js';

const ADMIN = 'UADMINSE';
const USERS = ['USE429U1', 'USE500U1', 'USENETU1', 'USEFATL1', 'USEINAC1'] as const;
const [RATE_LIMITED_USER, SERVER_ERROR_USER, NETWORK_USER, TRANSIENT_USER, INACTIVE_USER] = USERS;
const RETRY_AFTER_SECONDS = 2;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  fake.setUser({ id: ADMIN, tz: 'UTC' });
  for (const user of USERS) fake.setUser({ id: user, tz: 'UTC' });
  app = await startTestApp({ environment, fake, admins: [ADMIN] });
  for (const user of USERS) {
    const result = await app.sender.command(ADMIN, `assign <@${user}> password eligible`);
    expect(await replyTo(fake, result.responseUrl)).toContain('eligible');
  }
  await waitForOutboxDrained(app);
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

async function waitForOutboxDrained(target: TestApp): Promise<void> {
  await eventually(async () => {
    const [row] = await target.sql<{ count: number }[]>`
      select count(*)::int as count from outbox where delivered_at is null and failed_at is null`;
    return row?.count === 0 ? true : undefined;
  }, 45_000);
}

async function activate(target: TestApp, userId: string): Promise<string> {
  const result = await target.sender.command(userId, 'activate password 30m slack error test');
  expect(await replyTo(fake, result.responseUrl)).toContain('is active');
  const [row] = await target.sql<{ id: string }[]>`
    select id from activations where user_id = ${userId} and status = 'active'`;
  if (row === undefined) throw new Error(`no activation for ${userId}`);
  return row.id;
}

function startedDms(userId: string): RecordedCall[] {
  return fake.messagesTo(userId).filter((call) => messageText(call.body).includes('is active for you'));
}

function succeeded(call: RecordedCall): boolean {
  return call.status === 200 && typeof call.response === 'object' && call.response.ok === true;
}

async function outboxRow(target: TestApp, activationId: string, recipient: string) {
  const [row] = await target.sql<{ attempts: number; last_error: string | null; delivered_at: Date | null; failed_at: Date | null }[]>`
    select attempts, last_error, delivered_at, failed_at from outbox
    where payload->'notice'->>'activationId' = ${activationId} and payload->'to'->>'userId' = ${recipient}`;
  if (row === undefined) throw new Error(`no outbox row for ${activationId} to ${recipient}`);
  return row;
}

describe('Slack Web API errors on messages', () => {
  it('429 waits for Retry-After, then delivers once', async () => {
    fake.failNext('chat.postMessage', { retryAfterSeconds: RETRY_AFTER_SECONDS });
    const activationId = await activate(app, RATE_LIMITED_USER);
    await waitForOutboxDrained(app);

    const rejected = fake.calls('chat.postMessage').find((call) => call.status === 429);
    if (rejected === undefined) throw new Error('the fake sent no 429');
    const retried = fake
      .calls('chat.postMessage')
      .find((call) => call.at > rejected.at && succeeded(call) && messageText(call.body) === messageText(rejected.body));
    if (retried === undefined) throw new Error('the rate-limited message was not sent again');
    expect(retried.at - rejected.at).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000 - 50);
    expect(startedDms(RATE_LIMITED_USER).filter(succeeded)).toHaveLength(1);
    expect(fake.messagesTo(SECURITY_CHANNEL).filter((call) => succeeded(call) && messageText(call.body).includes(activationId))).toHaveLength(1);
  });

  it('HTTP 500 is retried with backoff and delivered once', async () => {
    fake.failNext('chat.postMessage', { status: 500, times: 2 });
    const activationId = await activate(app, SERVER_ERROR_USER);
    await waitForOutboxDrained(app);

    expect(startedDms(SERVER_ERROR_USER).filter(succeeded)).toHaveLength(1);
    const rejectedStatuses = fake.calls('chat.postMessage').filter((call) => call.status === 500);
    expect(rejectedStatuses).toHaveLength(2);
    expect(fake.messagesTo(SECURITY_CHANNEL).filter((call) => succeeded(call) && messageText(call.body).includes(activationId))).toHaveLength(1);
  });

  it('network error is retried and delivered once', async () => {
    fake.failNext('chat.postMessage', { disconnect: true });
    const activationId = await activate(app, NETWORK_USER);
    await waitForOutboxDrained(app);

    expect(fake.calls('chat.postMessage').filter((call) => call.status === 0)).toHaveLength(1);
    expect(startedDms(NETWORK_USER).filter(succeeded)).toHaveLength(1);
    expect(fake.messagesTo(SECURITY_CHANNEL).filter((call) => succeeded(call) && messageText(call.body).includes(activationId))).toHaveLength(1);
  });

  it('DM failing with a Slack error is recorded and retried', async () => {
    // Both posts of the activation (the DM and the security post) fail once.
    fake.failNext('chat.postMessage', { error: 'fatal_error', times: 2 });
    const id = await activate(app, TRANSIENT_USER);
    await waitForOutboxDrained(app);

    const row = await outboxRow(app, id, TRANSIENT_USER);
    expect(row.delivered_at).not.toBeNull();
    expect(row.attempts).toBe(2);
    expect(row.last_error).toContain('fatal_error');
    expect(startedDms(TRANSIENT_USER).filter(succeeded)).toHaveLength(1);
  });

  it('DM to an inactive account is recorded as failed', async () => {
    fake.setUser({ id: INACTIVE_USER, tz: 'UTC', deleted: true });
    const original = fake.calls('chat.postMessage').length;
    fake.failNext('chat.postMessage', { error: 'account_inactive', times: 2 });
    const id = await activate(app, INACTIVE_USER);
    await waitForOutboxDrained(app);

    expect(fake.calls('chat.postMessage').length).toBeGreaterThan(original);
    const row = await outboxRow(app, id, INACTIVE_USER);
    expect(row.failed_at).not.toBeNull();
    expect(row.last_error).toContain('account_inactive');
    expect(row.attempts).toBe(1);
  });
});

describe('security channel the app cannot post to', () => {
  const cases = [
    { error: 'channel_not_found', breakChannel: (target: FakeSlack) => target.setChannelMissing(SECURITY_CHANNEL) },
    { error: 'not_in_channel', breakChannel: (target: FakeSlack) => target.setChannelNotMember(SECURITY_CHANNEL) },
  ];

  for (const { error, breakChannel } of cases) {
    it(`${error} is reported, and posts wait until it is fixed`, async () => {
      const caseEnvironment = createTestEnvironment();
      const caseFake = await FakeSlack.start();
      const log = captureLog('info');
      caseFake.setUser({ id: ADMIN, tz: 'UTC' });
      breakChannel(caseFake);
      const target = await startTestApp({ environment: caseEnvironment, fake: caseFake, admins: [ADMIN], logger: log.logger });
      try {
        const startupLine = log.find('cannot post to PIM_SECURITY_CHANNEL');
        expect(startupLine).toHaveLength(1);
        expect(startupLine[0]?.slackError).toBe(error);
        expect(startupLine[0]?.level).toBe(50);

        const ready = await fetch(`${target.baseUrl}/readyz`);
        expect(ready.status).toBe(200);
        expect(((await ready.json()) as { warnings: Record<string, string> }).warnings.securityChannel).toBe(error);
        const [state] = await target.sql<{ value: { problem: { error: string } | null } }[]>`
          select value from app_state where key = 'security_channel_status'`;
        expect(state?.value.problem?.error).toBe(error);
        const dashboard = await buildHomeViewForUser(target.runtime.context.db, target.runtime.context.clock, ADMIN);
        expect(JSON.stringify(dashboard.blocks)).toContain(`Posts to the security channel <#${SECURITY_CHANNEL}> are held back`);

        // The bootstrap post to the security channel is owed; it must wait, not fail.
        await eventually(async () => {
          const [row] = await target.sql<{ attempts: number; failed_at: Date | null; last_error: string | null }[]>`
            select attempts, failed_at, last_error from outbox where payload->'to'->>'channelId' = ${SECURITY_CHANNEL}`;
          return row !== undefined && row.attempts >= 2 ? row : undefined;
        }).then((row) => {
          expect(row.failed_at).toBeNull();
          expect(row.last_error).toContain(error);
        });

        caseFake.restoreChannel(SECURITY_CHANNEL);
        await waitForOutboxDrained(target);
        const posts = caseFake.messagesTo(SECURITY_CHANNEL).filter(succeeded);
        expect(posts).toHaveLength(1);
        const after = await fetch(`${target.baseUrl}/readyz`);
        expect(((await after.json()) as { warnings: Record<string, string> }).warnings.securityChannel).toBeUndefined();
      } finally {
        await target.stop();
        await caseFake.close();
        await caseEnvironment.destroy();
      }
    }, 60_000);
  }
});
