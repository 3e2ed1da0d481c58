import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoleSettings } from '../../src/domain/role-settings.js';
import { createLogger } from '../../src/logger.js';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  messageText,
  SECURITY_CHANNEL,
  startTestApp,
  TEST_SIGNING_SECRET,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';
import { activationStatus, clickDecision, commandReply, configureRole, decisionReply, interleaveAtAuditLock } from '../support/flows.js';

// Attacks a workspace member can mount with payloads Slack signs for them: forged button values,
// view submissions, clicks at the wrong moment and clicks racing an administrator's change.

const ADMIN = 'UADMIN31';
const APPROVER = 'UAPPROV31';
const REQUESTERS = ['UREQ03101', 'UREQ03102', 'UREQ03103', 'UREQ03104', 'UREQ03105'] as const;
const [ALICE, BOB, CAROL, DAVE, ERIN] = REQUESTERS;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;
// Every log line at debug level, the most an operator can turn on.
const logText: string[] = [];

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [ADMIN, APPROVER, ...REQUESTERS]) fake.setUser({ id, tz: 'UTC' });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText.push(chunk.toString());
      done();
    },
  });
  app = await startTestApp({ environment, fake, admins: [ADMIN], logger: createLogger('debug', sink) });
  await configure('billing', { requireApproval: true, approvers: { users: [APPROVER], groups: [] } });
  await configure('service', { requireApproval: false });
  for (const user of REQUESTERS) {
    for (const role of ['billing', 'service']) {
      expect(await command(ADMIN, `assign <@${user}> ${role} eligible`)).toContain('is now eligible');
    }
  }
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

const configure = (slug: string, change: Partial<RoleSettings>) => configureRole(app, ADMIN, slug, change);

const command = (userId: string, text: string) => commandReply(app, userId, text);

async function requestRole(userId: string, role: string): Promise<string> {
  const reply = await command(userId, `activate ${role} 1h needed for INC-31`);
  expect(reply).toContain('waiting for approval');
  const [row] = await app.sql<{ id: string }[]>`
    select v.id from activations v join roles r on r.id = v.role_id
    where v.user_id = ${userId} and r.slug like ${`${role}%`} and v.status = 'pending_approval'`;
  if (row === undefined) throw new Error(`no pending request for ${userId}`);
  return row.id;
}

const click = (userId: string, actionId: string, activationId: string) => clickDecision(app, userId, actionId, activationId);
const clickReply = (userId: string, actionId: string, activationId: string) => decisionReply(app, userId, actionId, activationId);

const statusOf = (activationId: string) => activationStatus(app, activationId);

async function assignmentStatus(userId: string, slug: string): Promise<string[]> {
  const rows = await app.sql<{ status: string }[]>`
    select a.status from assignments a join roles r on r.id = a.role_id
    where a.user_id = ${userId} and r.slug like ${`${slug}%`} order by a.starts_at`;
  return rows.map((row) => row.status);
}

// Replies to a decision on a request past its window (src/services/approvals.ts): from the
// decision-window check, and for a request the sweep has already timed out.
const EXPIRED_WINDOW_REPLY = 'because nobody decided in time, so it can no longer be approved or denied';
const SWEEP_TIMED_OUT_REPLY = 'already timed out without a decision';

const interleave = <A, B>(first: () => Promise<A>, second: () => Promise<B>) => interleaveAtAuditLock(app, first, second);

describe('deciding a request', () => {
  it('approve after the window is refused', async () => {
    // The clock moves past the request's expiry before the timeout job or the sweep has fired,
    // as when the worker is down or behind. The sweep reads the same clock and may still time the
    // request out before a click arrives. That click's reply does not exercise the decision-window
    // check, so the attempt is repeated with a new request.
    const MAX_ATTEMPTS = 3;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const id = await requestRole(ALICE, 'billing');
      app.clock.advance(24 * 60 * 60_000 + 60_000);
      let replies: string[];
      try {
        replies = [await clickReply(APPROVER, 'approval_approve', id), await clickReply(APPROVER, 'approval_deny', id)];
      } finally {
        app.clock.offsetMs = 0;
      }

      const approved = await app.sql`select 1 from audit_events where target_id = ${id} and action = 'request.approved'`;
      expect(approved).toHaveLength(0);
      expect(await statusOf(id)).not.toBe('active');
      expect(fake.calls('views.open').some((call) => (call.body.view as { private_metadata?: string }).private_metadata === id)).toBe(false);

      const sweptFirst = replies.some((reply) => reply.includes(SWEEP_TIMED_OUT_REPLY));
      if (sweptFirst && attempt < MAX_ATTEMPTS) {
        expect(await statusOf(id)).toBe('timed_out');
        continue;
      }
      // Only the decision-window check gives this reply.
      for (const reply of replies) expect(reply).toContain(EXPIRED_WINDOW_REPLY);
      return;
    }
  });

  it('deny after the window is refused', async () => {
    const id = await requestRole(BOB, 'billing');
    await click(APPROVER, 'approval_deny', id);
    await fake.waitFor('views.open', (call) => (call.body.view as { private_metadata?: string }).private_metadata === id);
    app.clock.advance(24 * 60 * 60_000 + 60_000);
    try {
      const denial = await app.sender.submitView(APPROVER, {
        values: { reason: { value: { type: 'plain_text_input', value: 'too late' } } },
      });
      const errors = JSON.stringify((denial.json as { errors?: unknown } | undefined)?.errors);
      expect(errors).toContain('timed out');
      // The timekeeper's sweep may time the request out meanwhile, since it reads the same clock.
      // While the request is still pending, only the decision-window check can have refused it.
      const status = await statusOf(id);
      if (status === 'pending_approval') expect(errors).toContain(EXPIRED_WINDOW_REPLY);
      else expect(status).toBe('timed_out');
    } finally {
      app.clock.offsetMs = 0;
    }
    const denied = await app.sql`select 1 from audit_events where target_id = ${id} and action = 'request.denied'`;
    expect(denied).toHaveLength(0);
  });
});

describe('decisions racing the removal of eligibility', () => {
  it('approve racing removal ends access', async () => {
    const id = await requestRole(CAROL, 'billing');
    const [approve, remove] = await interleave(
      () => clickReply(APPROVER, 'approval_approve', id),
      () => command(ADMIN, `remove <@${CAROL}> billing no longer on the team`),
    );
    expect(approve).toContain('You approved');
    expect(remove).toContain('Removed the eligible assignment');
    expect(await assignmentStatus(CAROL, 'billing')).toEqual(['removed']);
    // Removing eligibility ends any activation of the role, including one approved a moment before.
    expect(await statusOf(id)).not.toBe('active');
  });

  it('activate racing removal ends access', async () => {
    const [activate, remove] = await interleave(
      () => command(DAVE, 'activate service 1h deploy fix'),
      () => command(ADMIN, `remove <@${DAVE}> service no longer on the team`),
    );
    expect(activate).toContain('active');
    expect(remove).toContain('Removed the eligible assignment');
    expect(await assignmentStatus(DAVE, 'service')).toEqual(['removed']);
    const open = await app.sql`
      select 1 from activations v join roles r on r.id = v.role_id
      where v.user_id = ${DAVE} and r.slug like 'service%' and v.status = 'active'`;
    expect(open).toHaveLength(0);
  });
});

describe('secrets in logs', () => {
  it('debug logs omit tokens and justifications', async () => {
    const justification = 'JUSTIFICATION-TEXT-31 rotate the vault key';
    fake.failNext('chat.postMessage', { status: 500 });
    fake.failNext('chat.postMessage', { error: 'fatal_error' });
    expect(await command(ERIN, `activate service 1h ${justification}`)).toContain('active');
    await fake.waitFor('chat.postMessage', (call) => call.body.channel === SECURITY_CHANNEL && messageText(call.body).includes(justification));
    await command(ERIN, `deactivate service`);
    const logs = logText.join('');
    expect(logs).toContain('outbox delivery failed');
    expect(logs).toContain('http request body: [omitted');
    expect(logs).not.toContain(fake.botToken);
    expect(logs).not.toContain(TEST_SIGNING_SECRET);
    expect(logs).not.toContain('JUSTIFICATION-TEXT-31');
  });
});

describe('malformed payloads', () => {
  function errorLines(): string[] {
    return logText.join('').split('\n').filter((line) => line.includes('"level":50'));
  }

  it('forged button values get a plain refusal', async () => {
    const before = errorLines().length;
    const forged = [
      { actionId: 'admin_open_role', value: 'not-a-uuid' },
      { actionId: 'role_add_holder', value: 'x'.repeat(2_000) },
      { actionId: 'home_show_more', value: '{"kind":"everything"' },
    ];
    for (const { actionId, value } of forged) {
      fake.clear();
      expect((await app.sender.action(ADMIN, { actionId, value, actionType: 'button' })).status).toBe(200);
      const reply = await fake.waitFor('chat.postMessage', (call) => call.body.channel === ADMIN);
      expect(messageText(reply.body)).not.toContain('Something went wrong');
    }
    expect(errorLines().slice(before)).toEqual([]);
  });

  it('forged private_metadata gets a field error', async () => {
    const before = errorLines().length;
    for (const privateMetadata of ['{not json', JSON.stringify({ roleId: 7 }), JSON.stringify({ roleId: 'x'.repeat(3_000) })]) {
      const result = await app.sender.submitView(ADMIN, {
        callbackId: 'admin_assignment_form',
        privateMetadata,
        values: {
          user: { value: { type: 'users_select', selected_user: ERIN } },
          kind: { value: { type: 'radio_buttons', selected_option: { value: 'active' } } },
        },
      });
      expect(result.status).toBe(200);
      const errors = JSON.stringify((result.json as { errors?: unknown } | undefined)?.errors);
      expect(errors).toContain('no longer exists');
    }
    const rolePage = await app.sender.action(ADMIN, {
      actionId: 'role_page_next',
      value: '1',
      actionType: 'button',
      view: { id: 'V0FORGED', type: 'modal', private_metadata: '{"roleId":"nope","page":-1}' },
    });
    expect(rolePage.status).toBe(200);
    const reply = await fake.waitFor('chat.postMessage', (call) => call.body.channel === ADMIN && messageText(call.body).includes('no longer exists'));
    expect(messageText(reply.body)).not.toContain('Something went wrong');
    expect(errorLines().slice(before)).toEqual([]);
  });
});
