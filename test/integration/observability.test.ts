import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepOverdueActivations } from '../../src/jobs/sweep.js';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  replyTo,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';
import { captureLog, type CapturedLog } from '../support/log-capture.js';

const ADMIN = 'UADMINOB';
const [FLOODER, CALM_USER, ACTIVE_USER, RETRIED_USER] = ['UOBFLOOD', 'UOBCALM1', 'UOBACTV1', 'UOBRETR1'] as const;
const RATE_LIMIT = { requests: 3, windowSeconds: 60 };

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;
let log: CapturedLog;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const user of [ADMIN, FLOODER, CALM_USER, ACTIVE_USER, RETRIED_USER]) fake.setUser({ id: user, tz: 'UTC' });
  log = captureLog('debug');
  app = await startTestApp({ environment, fake, admins: [ADMIN], logger: log.logger, rateLimit: RATE_LIMIT });
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

async function metricsText(): Promise<string> {
  const response = await fetch(`${app.baseUrl}/metrics`);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

describe('per-user rate limit', () => {
  it('rejects requests past the limit with a calm reply', async () => {
    for (let i = 0; i < RATE_LIMIT.requests; i++) {
      const result = await app.sender.command(FLOODER, 'help');
      expect(await replyTo(fake, result.responseUrl)).toContain('/pim activate');
    }
    const limited = await app.sender.command(FLOODER, 'help');
    expect(limited.status).toBe(200);
    expect(limited.body).toContain('faster than slack-pim allows');

    const other = await app.sender.command(CALM_USER, 'help');
    expect(await replyTo(fake, other.responseUrl)).toContain('/pim activate');
  });

  it('logs the rejection with the request ids', () => {
    const [line] = log.find('request rejected by the per-user rate limit');
    expect(line?.userId).toBe(FLOODER);
    expect(line?.requestId).toEqual(expect.any(String));
    expect(line?.requestType).toBe('command');
  });
});

describe('/metrics', () => {
  it('counts requests by type and outcome, and ack latency', async () => {
    // A command is counted when its work after the ack ends, after the fake Slack recorded its
    // reply, so the last command's count can trail the reply the previous test waited for.
    const commandsOk = RATE_LIMIT.requests + 1;
    const text = await eventually(async () => {
      const scraped = await metricsText();
      const counted = /pim_slack_requests_total\{type="command",outcome="ok"\} (\d+)/.exec(scraped)?.[1];
      return Number(counted ?? 0) >= commandsOk ? scraped : undefined;
    });
    expect(text).toContain(`pim_slack_requests_total{type="command",outcome="ok"} ${commandsOk}`);
    expect(text).toContain('pim_slack_requests_total{type="command",outcome="rate_limited"} 1');
    expect(text).toMatch(/pim_slack_ack_duration_seconds_bucket\{le="3",type="command"\} \d+/);
    expect(text).toContain('# TYPE pim_job_failures_total counter');
    expect(text).toContain('pim_process_resident_memory_bytes');
  });

  it('shows activations by state, outbox backlog and revoke lag', async () => {
    const assign = await app.sender.command(ADMIN, `assign <@${ACTIVE_USER}> password eligible`);
    expect(await replyTo(fake, assign.responseUrl)).toContain('eligible');
    const activate = await app.sender.command(ACTIVE_USER, 'activate password 1m metrics');
    expect(await replyTo(fake, activate.responseUrl)).toContain('is active');
    expect(await metricsText()).toContain('pim_activations{state="active"} 1');

    app.clock.advance(2 * 60_000);
    try {
      expect(await sweepOverdueActivations(app.runtime.context, app.runtime.context.logger, app.runtime.metrics)).toBe(1);
    } finally {
      app.clock.advance(-2 * 60_000);
    }
    const text = await metricsText();
    expect(text).toContain('pim_activations{state="expired"} 1');
    expect(text).toMatch(/pim_revoke_lag_seconds_count\{trigger="sweep"\} 1/);
    expect(text).toMatch(/pim_outbox_backlog \d+/);
    expect(text).toMatch(/pim_outbox_deliveries_total\{kind="notice",outcome="delivered"\} \d+/);
  });
});

describe('log ids', () => {
  it('a rejected command logs its request and user ids', async () => {
    const result = await app.sender.command(CALM_USER, 'activate global 1h no eligibility');
    expect(await replyTo(fake, result.responseUrl)).toContain('not eligible');
    const line = log.find('request rejected').find((candidate) => candidate.code === 'not_eligible');
    expect(line?.userId).toBe(CALM_USER);
    expect(line?.requestId).toEqual(expect.any(String));
    expect(line?.subcommand).toBe('activate');
  });

  it('outbox deliveries log their outbox ids', async () => {
    await eventually(async () => (log.find('outbox row delivered').length > 0 ? true : undefined));
    for (const line of log.find('outbox row delivered')) {
      expect(line.outboxId).toEqual(expect.any(Number));
      expect(line.outboxKind).toEqual(expect.any(String));
    }
  });

  it('failed delivery logs outbox ids', async () => {
    fake.failNext('chat.postMessage', { status: 500 });
    const assign = await app.sender.command(ADMIN, `assign <@${RETRIED_USER}> password eligible`);
    expect(await replyTo(fake, assign.responseUrl)).toContain('eligible');
    const line = await eventually(async () => log.find('outbox delivery failed; will retry')[0]);
    expect(line.outboxId).toEqual(expect.any(Number));
    expect(line.outboxKind).toBe('notice');
    expect(line.attempt).toBe(1);
    expect(line.code).toBe('http_500');
  });

  it('request lines name the user once', () => {
    // The command handler's child logger binds userId and the request scope adds it too; the
    // logger's mixin skips keys a child already bound.
    const lines = log.rawLines().filter((line) => line.includes('"msg":"request rejected"'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.match(/"userId":/g)).toHaveLength(1);
  });
});
