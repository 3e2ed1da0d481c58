import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepDueAssignments } from '../../src/jobs/sweep.js';
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
import { commandReply } from '../support/flows.js';

// PIM_ADMINS is unset in this file, so `/pim setup` is the only way to a first administrator.
const FIRST = 'UFIRSTAD1';
const RIVAL = 'UFIRSTAD2';
const LATECOMER = 'UFIRSTAD3';
const DAY_MS = 24 * 60 * 60_000;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [FIRST, RIVAL, LATECOMER]) fake.setUser({ id, tz: 'UTC' });
  app = await startTestApp({ environment, fake });
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

const command = (userId: string, text: string) => commandReply(app, userId, text);

async function praAssignments(): Promise<{ userId: string; status: string }[]> {
  return app.sql<{ userId: string; status: string }[]>`
    select a.user_id as "userId", a.status from assignments a join roles r on r.id = a.role_id
    where r.slug = 'privileged-role-administrator' order by a.starts_at, a.user_id`;
}

async function auditCount(): Promise<number> {
  const [row] = await app.sql<{ count: number }[]>`select count(*)::int as count from audit_events`;
  return row?.count ?? 0;
}

describe('/pim setup without PIM_ADMINS', () => {
  it('help offers setup before any administrator', async () => {
    expect(await command(LATECOMER, 'help')).toContain('/pim setup');
  });

  it('simultaneous first users: one wins', async () => {
    const replies = await Promise.all([command(FIRST, 'setup'), command(RIVAL, 'setup')]);
    const winners = replies.filter((reply) => reply.includes('You are now a permanent Privileged Role Administrator'));
    expect(winners).toHaveLength(1);
    expect(replies.filter((reply) => reply.includes('Only an active Privileged Role Administrator'))).toHaveLength(1);

    const winner = replies[0]?.includes('You are now') === true ? FIRST : RIVAL;
    expect(await praAssignments()).toEqual([{ userId: winner, status: 'current' }]);
    await eventually(async () => {
      const posts = fake.messagesTo(SECURITY_CHANNEL).filter((call) => messageText(call.body).includes('the first to run `/pim setup`'));
      return posts.length === 1 ? posts : undefined;
    });
    expect(await command(LATECOMER, 'help')).not.toContain('/pim setup');

    // The rest of the file needs FIRST as the administrator.
    if (winner === RIVAL) {
      expect(await command(RIVAL, `assign <@${FIRST}> privileged-role-administrator active hand-over`)).toContain('is now active');
      expect(await command(FIRST, `remove <@${RIVAL}> privileged-role-administrator hand-over`)).toContain('Removed');
    }
  });

  it('lapsed administrators: setup rejected', async () => {
    const until = new Date(app.clock.now().getTime() + 20 * DAY_MS).toISOString().slice(0, 10);
    expect(await command(FIRST, `assign <@${FIRST}> privileged-role-administrator active until ${until} rotation`)).toContain(
      'is now instead active',
    );
    app.clock.offsetMs = 22 * DAY_MS;
    try {
      await sweepDueAssignments(app.runtime.context, app.runtime.context.logger);
    } finally {
      app.clock.offsetMs = 0;
    }
    const before = await praAssignments();
    expect(before.every((row) => row.status !== 'current')).toBe(true);
    const eventsBefore = await auditCount();

    const reply = await command(LATECOMER, 'setup');
    expect(reply).toContain('no Privileged Role Administrator left');
    expect(reply).toContain('PIM_ADMINS');
    expect(await praAssignments()).toEqual(before);
    expect(await auditCount()).toBe(eventsBefore);
    expect(await command(LATECOMER, 'help')).not.toContain('/pim setup');
  });
});
