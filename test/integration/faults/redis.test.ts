import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartupError } from '../../../src/runtime.js';
import { FaultScenario, waitUntilPassed } from '../../support/fault-scenario.js';
import { FakeSlack } from '../../support/fake-slack.js';
import { createTestEnvironment, eventually, startTestApp } from '../../support/harness.js';
import { startPrivateRedis, type PrivateRedis } from '../../support/private-servers.js';

const ADMIN = 'UADMINRD';
const FLUSH_USERS = ['URDFLSH1', 'URDFLSH2', 'URDFLSH3'] as const;
const [DOWN_USER, LATER_USER] = ['URDDOWN1', 'URDLATE1'] as const;

let redis: PrivateRedis;
let scenario: FaultScenario;
let workerPort: number;

beforeAll(async () => {
  redis = await startPrivateRedis();
  scenario = await FaultScenario.create({
    admin: ADMIN,
    users: [...FLUSH_USERS, DOWN_USER, LATER_USER],
    redisUrl: redis.url,
  });
  workerPort = (await scenario.startProcess()).port;
}, 120_000);

afterAll(async () => {
  await redis?.start().catch(() => undefined);
  await scenario?.destroy();
  await redis?.stop();
});

async function readyStatus(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return response.status;
}

describe('Redis eviction policy', () => {
  it('start-up rejects allkeys-lru with the fix', async () => {
    const evicting = await startPrivateRedis({ maxmemoryPolicy: 'allkeys-lru' });
    const environment = createTestEnvironment(undefined, evicting.url);
    const fake = await FakeSlack.start();
    try {
      const started = startTestApp({ environment, fake });
      await expect(started).rejects.toBeInstanceOf(StartupError);
      await expect(started).rejects.toThrow('maxmemory-policy is allkeys-lru');
      await expect(started).rejects.toThrow('CONFIG SET maxmemory-policy noeviction');
    } finally {
      await fake.close();
      await environment.destroy();
      await evicting.stop();
    }
  });
});

describe('Redis flushed', () => {
  it(
    'jobs are rebuilt and activations end once',
    async () => {
      const activations = [];
      for (const user of FLUSH_USERS) activations.push(await scenario.activateEndingIn(user, 15));
      for (const activation of activations) await scenario.waitForExpiryJob(activation.id);
      await scenario.waitForOutboxDrained();

      await redis.flush();
      expect(await scenario.expiryJobState(activations[0]!.id)).toBe('missing');

      // Rebuilt from Postgres before their end time, so they end on time, not at the next sweep.
      for (const activation of activations) await scenario.waitForExpiryJob(activation.id);
      for (const activation of activations) {
        const ended = await scenario.waitUntilEnded(activation.id, 45_000);
        expect(ended.status).toBe('expired');
        expect(ended.endedAt?.getTime()).toBeGreaterThanOrEqual(activation.endsAt.getTime());
      }
      await scenario.waitForOutboxDrained();
      for (const [index, activation] of activations.entries()) {
        const messages = scenario.activationMessages(activation, FLUSH_USERS[index]!);
        expect(messages.started).toHaveLength(1);
        expect(messages.announced).toHaveLength(1);
        expect(messages.ended).toHaveLength(1);
        expect(await scenario.auditCount(activation.id, 'activation.expired')).toBe(1);
      }
    },
    120_000,
  );
});

describe('Redis restarted', () => {
  it(
    'Postgres ends activations while Redis is down, and jobs come back after',
    async () => {
      const soon = await scenario.activateEndingIn(DOWN_USER, 4);
      const later = await scenario.activateEndingIn(LATER_USER, 50);
      await scenario.waitForExpiryJob(soon.id);
      await scenario.waitForExpiryJob(later.id);
      await scenario.waitForOutboxDrained();

      await redis.stop();
      await eventually(async () => ((await readyStatus(workerPort)) === 503 ? true : undefined));
      await waitUntilPassed(soon.endsAt);
      const ended = await scenario.waitUntilEnded(soon.id);
      expect(ended.status).toBe('expired');
      expect(await readyStatus(workerPort)).toBe(503);

      // Started empty: no persistence.
      await redis.start();
      await eventually(async () => ((await readyStatus(workerPort)) === 200 ? true : undefined));
      await scenario.waitForExpiryJob(later.id);
      expect((await scenario.activation(later.id)).status).toBe('active');

      await scenario.waitForOutboxDrained();
      expect(scenario.activationMessages(soon, DOWN_USER).ended).toHaveLength(1);
      expect(await scenario.auditCount(soon.id, 'activation.expired')).toBe(1);
      expect(scenario.workers.every((worker) => worker.child.exitCode === null)).toBe(true);
    },
    120_000,
  );
});
