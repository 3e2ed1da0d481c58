import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultScenario } from '../../support/fault-scenario.js';
import { replyTo, TEST_SIGNING_SECRET } from '../../support/harness.js';
import { SlackSender } from '../../support/slack-requests.js';

const ADMIN = 'UADMINRP';
const RACERS = ['URPRACE1', 'URPRACE2', 'URPRACE3', 'URPRACE4'] as const;
const EXPIRING = ['URPEXPR1', 'URPEXPR2', 'URPEXPR3', 'URPEXPR4'] as const;

let scenario: FaultScenario;
let secondWeb: SlackSender;

beforeAll(async () => {
  scenario = await FaultScenario.create({ admin: ADMIN, users: [...RACERS, ...EXPIRING] });
  // Two worker processes and a second web process, over the same Postgres and Redis as the
  // web app in this process.
  await scenario.startProcess();
  await scenario.startProcess();
  const web = await scenario.startProcess('web');
  secondWeb = new SlackSender({ baseUrl: `http://127.0.0.1:${web.port}`, signingSecret: TEST_SIGNING_SECRET, fake: scenario.fake });
}, 120_000);

afterAll(async () => {
  await scenario?.destroy();
});

describe('two replicas of each role', () => {
  it(
    'the same request sent to both web processes activates once',
    async () => {
      const replies = await Promise.all(
        RACERS.flatMap((user) =>
          [scenario.web.sender, secondWeb].map(async (sender) => {
            const result = await sender.command(user, 'activate password 2h replica race');
            return { user, reply: await replyTo(scenario.fake, result.responseUrl) };
          }),
        ),
      );
      await scenario.waitForOutboxDrained();

      for (const user of RACERS) {
        const mine = replies.filter((entry) => entry.user === user).map((entry) => entry.reply);
        expect(mine.filter((reply) => reply.includes('is active for 2 hours'))).toHaveLength(1);
        expect(mine.filter((reply) => reply.includes('already active'))).toHaveLength(1);
        const rows = await scenario.web.sql<{ id: string }[]>`select id from activations where user_id = ${user}`;
        expect(rows).toHaveLength(1);
        const activation = rows[0]!;
        const messages = scenario.activationMessages(activation, user);
        expect(messages.started).toHaveLength(1);
        expect(messages.announced).toHaveLength(1);
        expect(await scenario.auditCount(activation.id, 'activation.activated')).toBe(1);
      }
    },
    60_000,
  );

  it(
    'two workers end each activation once and tell its user once',
    async () => {
      const activations = [];
      for (const user of EXPIRING) activations.push({ user, activation: await scenario.activateEndingIn(user, 5) });
      for (const { activation } of activations) {
        const ended = await scenario.waitUntilEnded(activation.id);
        expect(ended.status).toBe('expired');
      }
      await scenario.waitForOutboxDrained();

      for (const { user, activation } of activations) {
        const messages = scenario.activationMessages(activation, user);
        expect(messages.started).toHaveLength(1);
        expect(messages.announced).toHaveLength(1);
        expect(messages.ended).toHaveLength(1);
        expect(await scenario.auditCount(activation.id, 'activation.expired')).toBe(1);
      }
      const [delivered] = await scenario.web.sql<{ rows: number; sends: number }[]>`
        select count(*)::int as rows, coalesce(sum(attempts), 0)::int as sends from outbox where delivered_at is not null`;
      expect(delivered?.sends).toBe(delivered?.rows);
    },
    60_000,
  );
});
