import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROLE_SETTINGS, type RoleSettings } from '../../src/domain/role-settings.js';
import { listRoles } from '../../src/services/roles.js';
import { updateRoleSettings } from '../../src/services/role-settings.js';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  messageText,
  replyTo,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';

// Attacks a workspace member can mount with payloads Slack signs for them: forged button values,
// view submissions, clicks at the wrong moment and clicks racing an administrator's change.

const ADMIN = 'UADMIN31';
const APPROVER = 'UAPPROV31';
const REQUESTERS = ['UREQ03101', 'UREQ03102', 'UREQ03103', 'UREQ03104'] as const;
const [ALICE, BOB] = REQUESTERS;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [ADMIN, APPROVER, ...REQUESTERS]) fake.setUser({ id, tz: 'UTC' });
  app = await startTestApp({ environment, fake, admins: [ADMIN] });
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

async function configure(slug: string, change: Partial<RoleSettings>): Promise<void> {
  const role = (await listRoles(app.runtime.context.db)).find((candidate) => candidate.slug.startsWith(slug));
  if (role === undefined) throw new Error(`no role ${slug}`);
  await updateRoleSettings(app.runtime.context, {
    actorId: ADMIN,
    roleId: role.id,
    settings: { ...DEFAULT_ROLE_SETTINGS, ...role.settings, ...change },
  });
}

async function command(userId: string, text: string): Promise<string> {
  const result = await app.sender.command(userId, text);
  expect(result.status).toBe(200);
  return replyTo(fake, result.responseUrl);
}

async function requestRole(userId: string, role: string): Promise<string> {
  const reply = await command(userId, `activate ${role} 1h needed for INC-31`);
  expect(reply).toContain('waiting for approval');
  const [row] = await app.sql<{ id: string }[]>`
    select v.id from activations v join roles r on r.id = v.role_id
    where v.user_id = ${userId} and r.slug like ${`${role}%`} and v.status = 'pending_approval'`;
  if (row === undefined) throw new Error(`no pending request for ${userId}`);
  return row.id;
}

async function click(userId: string, actionId: string, activationId: string) {
  const result = await app.sender.action(userId, {
    actionId,
    value: activationId,
    blockId: `decide:${activationId}`,
    actionType: 'button',
  });
  expect(result.status).toBe(200);
  return result;
}

async function clickReply(userId: string, actionId: string, activationId: string): Promise<string> {
  const result = await click(userId, actionId, activationId);
  const call = await fake.waitFor('response_url', (candidate) => candidate.url === result.responseUrl);
  return messageText(call.body);
}

async function statusOf(activationId: string): Promise<string | undefined> {
  const [row] = await app.sql<{ status: string }[]>`select status from activations where id = ${activationId}`;
  return row?.status;
}

describe('deciding a request', () => {
  it('approve after the window is refused', async () => {
    const id = await requestRole(ALICE, 'billing');
    // The timeout job and the sweep have not fired yet: the clock moved past the request's
    // expiry, as when the worker is down or behind.
    app.clock.advance(24 * 60 * 60_000 + 60_000);
    try {
      const reply = await clickReply(APPROVER, 'approval_approve', id);
      expect(reply).toContain('timed out');
      expect(await statusOf(id)).not.toBe('active');
      const deny = await clickReply(APPROVER, 'approval_deny', id);
      expect(deny).toContain('timed out');
      expect(fake.calls('views.open').some((call) => (call.body.view as { private_metadata?: string }).private_metadata === id)).toBe(false);
    } finally {
      app.clock.offsetMs = 0;
    }
    const approved = await app.sql`select 1 from audit_events where target_id = ${id} and action = 'request.approved'`;
    expect(approved).toHaveLength(0);
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
      expect(JSON.stringify((denial.json as { errors?: unknown } | undefined)?.errors)).toContain('timed out');
      expect(await statusOf(id)).toBe('pending_approval');
    } finally {
      app.clock.offsetMs = 0;
    }
  });
});
