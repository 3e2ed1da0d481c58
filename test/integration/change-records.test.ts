import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  replyTo,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';

// What gets written, and what people are told, when a command or form carries less than it
// seems to (an empty quoted reason, a repeated submission, an end the role's rules chose).

const ADMIN = 'UADMIN31';
const ALICE = 'UALICE31';
const CAROL = 'UCAROL31';

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [ADMIN, ALICE, CAROL]) fake.setUser({ id, tz: 'UTC' });
  app = await startTestApp({ environment, fake, admins: [ADMIN] });
  expect(await command(ADMIN, `assign <@${ALICE}> billing eligible`)).toContain('is now eligible');
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

async function command(userId: string, text: string): Promise<string> {
  const result = await app.sender.command(userId, text);
  expect(result.status).toBe(200);
  return replyTo(fake, result.responseUrl);
}

async function counts(): Promise<{ audit: number; activations: number }> {
  const [row] = await app.sql<{ audit: number; activations: number }[]>`
    select (select count(*) from audit_events)::int as audit, (select count(*) from activations)::int as activations`;
  return row!;
}

describe('empty quoted justification', () => {
  afterEach(async () => {
    // A failing case would activate; end it so the next case starts from nothing active.
    await app.sql`update activations set status = 'deactivated', ended_at = now() where user_id = ${ALICE} and status = 'active'`;
  });

  it.each(['""', '"   "', '\u201C \u201D', '"" ""'])('%s is no justification: the form opens and nothing is written', async (reason) => {
    const before = await counts();
    const result = await app.sender.command(ALICE, `activate billing 2h ${reason}`);
    expect(result.status).toBe(200);
    // Billing Administrator requires a justification, so the modal opens to ask for one.
    await fake.waitFor('views.open', (call) => call.body.trigger_id === result.triggerId);
    expect(await counts()).toEqual(before);
  });

  it('an active assignment with an empty quoted reason is refused when the role requires one', async () => {
    const before = await counts();
    expect(await command(ADMIN, `assign <@${CAROL}> billing active ""`)).toContain('requires a reason');
    expect(await counts()).toEqual(before);
  });
});
