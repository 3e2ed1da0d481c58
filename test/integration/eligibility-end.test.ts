import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoleSettings } from '../../src/domain/role-settings.js';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  messageText,
  SECURITY_CHANNEL,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';
import { clickDecision, commandReply, configureRole } from '../support/flows.js';

const ADMIN = 'UADMINEE1';
const APPROVER = 'UAPPROVE1';
const DIRECT = 'UDIRECTE1';
const REQUESTER = 'UREQUEE01';
const MINUTE_MS = 60_000;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [ADMIN, APPROVER, DIRECT, REQUESTER]) fake.setUser({ id, tz: 'UTC' });
  app = await startTestApp({ environment, fake, admins: [ADMIN] });
  for (const slug of ['billing', 'password']) {
    await configure(slug, { requireApproval: true, approvers: { users: [APPROVER], groups: [] } });
  }
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

const configure = (slug: string, change: Partial<RoleSettings>) => configureRole(app, ADMIN, slug, change);

const command = (userId: string, text: string) => commandReply(app, userId, text);

/** Makes `userId` eligible for a role until about `minutes` from now, and returns that end. */
async function assignUntil(userId: string, slug: string, minutes: number): Promise<Date> {
  // `/pim assign` takes the end in whole minutes, in the admin's time zone (UTC here).
  const until = new Date(Math.floor((app.clock.now().getTime() + minutes * MINUTE_MS) / MINUTE_MS) * MINUTE_MS);
  const reply = await command(ADMIN, `assign <@${userId}> ${slug} eligible until ${until.toISOString().slice(0, 16)} project work`);
  expect(reply).toMatch(/is now (instead )?eligible/);
  return until;
}

async function activationOf(userId: string): Promise<{ id: string; status: string; endsAt: Date; durationMinutes: number }> {
  const [row] = await app.sql<{ id: string; status: string; endsAt: Date; durationMinutes: number }[]>`
    select id, status, ends_at as "endsAt", duration_minutes as "durationMinutes" from activations
    where user_id = ${userId} order by requested_at desc limit 1`;
  if (row === undefined) throw new Error(`no activation for ${userId}`);
  return row;
}

async function messageTo(channelOrUserId: string, fragment: string): Promise<string> {
  return eventually(async () => {
    const texts = fake.messagesTo(channelOrUserId).map((call) => messageText(call.body));
    return texts.find((text) => text.includes(fragment));
  });
}

describe('an activation ends with its eligibility', () => {
  it('shortens a direct activation', async () => {
    const eligibleUntil = await assignUntil(DIRECT, 'service-administrator', 90);
    const reply = await command(DIRECT, 'activate service-administrator 4h deploy fix');
    expect(reply).toContain('when your eligible assignment of the role ends');

    const activation = await activationOf(DIRECT);
    expect(activation.status).toBe('active');
    expect(activation.endsAt.getTime()).toBe(eligibleUntil.getTime());
    expect(activation.durationMinutes).toBeLessThanOrEqual(90);
    expect(activation.durationMinutes).toBeGreaterThanOrEqual(89);

    const dm = await messageTo(DIRECT, 'is active for you');
    expect(dm).toContain('when your eligible assignment of the role ends');
    const post = await messageTo(SECURITY_CHANNEL, activation.id);
    expect(post).toContain('(end of eligibility)');
  });

  it('keeps the requested duration within eligibility', async () => {
    await assignUntil(DIRECT, 'user-administrator', 600);
    const reply = await command(DIRECT, 'activate user-administrator 1h access request');
    expect(reply).not.toContain('eligible assignment');
    const activation = await activationOf(DIRECT);
    expect(activation.durationMinutes).toBe(60);
    const post = await messageTo(SECURITY_CHANNEL, activation.id);
    expect(post).not.toContain('end of eligibility');
  });

  it('shortens an approved request', async () => {
    const eligibleUntil = await assignUntil(REQUESTER, 'billing', 45);
    expect(await command(REQUESTER, 'activate billing 2h invoice run')).toContain('waiting for approval');
    const pending = await activationOf(REQUESTER);
    // Approvers see the requested duration. The approval caps it at the end of eligibility.
    expect(pending.durationMinutes).toBe(120);

    await clickDecision(app, APPROVER, 'approval_approve', pending.id);
    const approved = await eventually(async () => {
      const row = await activationOf(REQUESTER);
      return row.status === 'active' ? row : undefined;
    });
    expect(approved.endsAt.getTime()).toBe(eligibleUntil.getTime());
    expect(await messageTo(REQUESTER, 'is active for you')).toContain('when your eligible assignment of the role ends');
  });

  it('uses eligibility extended before approval', async () => {
    await assignUntil(REQUESTER, 'password', 30);
    expect(await command(REQUESTER, 'activate password 2h reset run')).toContain('waiting for approval');
    const pending = await activationOf(REQUESTER);
    const extendedUntil = await assignUntil(REQUESTER, 'password', 600);

    await clickDecision(app, APPROVER, 'approval_approve', pending.id);
    const approved = await eventually(async () => {
      const row = await activationOf(REQUESTER);
      return row.status === 'active' ? row : undefined;
    });
    expect(approved.durationMinutes).toBe(120);
    expect(approved.endsAt.getTime()).toBeLessThan(extendedUntil.getTime());
  });
});
