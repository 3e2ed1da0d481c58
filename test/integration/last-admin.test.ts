import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepDueAssignments } from '../../src/jobs/sweep.js';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  messageText,
  replyTo,
  SECURITY_CHANNEL,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';

const ADMIN = 'UADMIN09';
const DAY_MS = 24 * 60 * 60_000;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  fake.setUser({ id: ADMIN, tz: 'UTC' });
  app = await startTestApp({ environment, fake, admins: [ADMIN] });
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

function warnings(fragment: string) {
  return fake
    .messagesTo(SECURITY_CHANNEL)
    .filter((call) => messageText(call.body).includes('last active Privileged Role Administrator') && messageText(call.body).includes(fragment));
}

describe('last active administrator', () => {
  it('warns the security channel when set to expire, before and when it ends', async () => {
    const until = new Date(app.clock.now().getTime() + 20 * DAY_MS).toISOString().slice(0, 10);
    const result = await app.sender.command(ADMIN, `assign <@${ADMIN}> privileged-role-administrator active until ${until} rotation`);
    expect(await replyTo(fake, result.responseUrl)).toContain('is now instead active');
    await eventually(async () => (warnings('ends').length === 1 ? true : undefined));

    const sweepAt = async (days: number) => {
      app.clock.offsetMs = days * DAY_MS;
      try {
        await sweepDueAssignments(app.runtime.context, app.runtime.context.logger);
      } finally {
        app.clock.offsetMs = 0;
      }
    };
    await sweepAt(7);
    await eventually(async () => (warnings('ends').length === 2 ? true : undefined));
    await sweepAt(22);
    await eventually(async () => (warnings('has ended').length === 1 ? true : undefined));

    const [row] = await app.sql<{ status: string }[]>`
      select a.status from assignments a join roles r on r.id = a.role_id
      where a.user_id = ${ADMIN} and r.slug = 'privileged-role-administrator'`;
    expect(row?.status).toBe('expired');
  });
});
