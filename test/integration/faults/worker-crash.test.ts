import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../../support/app-process.js';
import { FaultScenario, waitUntilPassed } from '../../support/fault-scenario.js';
import { eventually, replyTo, TEST_SIGNING_SECRET } from '../../support/harness.js';
import { SlackSender } from '../../support/slack-requests.js';

const ADMIN = 'UADMINWC';
const USERS = ['UWCKILL1', 'UWCHOLD1', 'UWCTERM1', 'UWCTERM2', 'UWCWEBT1'] as const;
const [KILLED_USER, HELD_USER, TERM_USER, DOUBLE_TERM_USER, WEB_TERM_USER] = USERS;
// Every auditing transaction takes this advisory lock (src/services/audit.ts). Holding it from
// the test stops an expiry job in the middle of its transaction.
const AUDIT_CHAIN_LOCK_KEY = 7_301_145_002;

let scenario: FaultScenario;

beforeAll(async () => {
  scenario = await FaultScenario.create({ admin: ADMIN, users: USERS });
}, 120_000);

afterAll(async () => {
  await scenario?.destroy();
});

/** Holds the audit chain lock on a connection of its own until `release` is called. */
async function holdAuditLock(databaseUrl: string): Promise<{ release(): Promise<void> }> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  await sql`select pg_advisory_lock(${AUDIT_CHAIN_LOCK_KEY})`;
  return {
    release: async () => {
      await sql`select pg_advisory_unlock(${AUDIT_CHAIN_LOCK_KEY})`;
      await sql.end({ timeout: 5 });
    },
  };
}

describe('worker crash', () => {
  it(
    'activation ending while the worker is dead ends at restart',
    async () => {
      const worker = await scenario.startProcess();
      const activation = await scenario.activateEndingIn(KILLED_USER, 6);
      await scenario.waitForExpiryJob(activation.id);
      // A kill while a post is in flight may repeat that post, as the NOTE in
      // src/slack/notice-sender.ts explains. The next test covers a kill before Slack got it.
      await scenario.waitForOutboxDrained();

      worker.kill('SIGKILL');
      await worker.exited;
      await waitUntilPassed(activation.endsAt);
      expect((await scenario.activation(activation.id)).status).toBe('active');

      const restartedAt = Date.now();
      await scenario.startProcess();
      const ended = await scenario.waitUntilEnded(activation.id);
      expect(ended.status).toBe('expired');
      expect(ended.endedAt?.getTime()).toBeGreaterThanOrEqual(activation.endsAt.getTime());
      expect(ended.endedAt?.getTime()).toBeGreaterThanOrEqual(restartedAt);

      await scenario.waitForOutboxDrained();
      const messages = scenario.activationMessages(activation, KILLED_USER);
      expect(messages.started).toHaveLength(1);
      expect(messages.announced).toHaveLength(1);
      expect(messages.ended).toHaveLength(1);
      expect(await scenario.auditCount(activation.id, 'activation.activated')).toBe(1);
      expect(await scenario.auditCount(activation.id, 'activation.expired')).toBe(1);
    },
    120_000,
  );

  it(
    'crash during a Slack call delays the message without repeating it',
    async () => {
      // The activation owes two posts (the DM and the security post), sent together. The fake
      // keeps both from reaching Slack, and the crash drops them unsent. A post that Slack had
      // already accepted would be sent again (see the NOTE in src/slack/notice-sender.ts).
      await scenario.startProcess();
      const held = [scenario.fake.holdNext('chat.postMessage'), scenario.fake.holdNext('chat.postMessage')];
      const activation = await scenario.activateEndingIn(HELD_USER, 120);
      await Promise.all(held.map((call) => call.arrived));
      for (const worker of scenario.workers) worker.kill('SIGKILL');
      expect(await Promise.all(held.map((call) => call.dropped))).toEqual([true, true]);

      await scenario.startProcess();
      await scenario.waitForOutboxDrained(60_000);
      const messages = scenario.activationMessages(activation, HELD_USER);
      expect(messages.started).toHaveLength(1);
      expect(messages.announced).toHaveLength(1);
      const retried = await scenario.web.sql<{ attempts: number }[]>`
        select attempts from outbox where payload->'notice'->>'activationId' = ${activation.id}`;
      expect(retried.map((row) => row.attempts)).toEqual([2, 2]);
    },
    120_000,
  );
});

describe('worker shutdown', () => {
  it(
    'SIGTERM during a job finishes the job and exits 0',
    async () => {
      const worker = await scenario.startProcess();
      await stopOtherWorkers(worker);
      const activation = await scenario.activateEndingIn(TERM_USER, 3);
      await scenario.waitForExpiryJob(activation.id);
      const lock = await holdAuditLock(scenario.environment.databaseUrl);
      try {
        await waitUntilPassed(activation.endsAt);
        await expectJobActive(activation.id);
        worker.kill('SIGTERM');
        await worker.waitForOutput(/shutting down/);
        expect(worker.child.exitCode).toBeNull();
      } finally {
        await lock.release();
      }

      expect(await worker.exited).toBe(0);
      const ended = await scenario.activation(activation.id);
      expect(ended.status).toBe('expired');
      expect(await scenario.auditCount(activation.id, 'activation.expired')).toBe(1);

      // The ended DM was committed with the expiry; whichever worker runs next delivers it.
      await scenario.startProcess();
      await scenario.waitForOutboxDrained();
      expect(scenario.activationMessages(activation, TERM_USER).ended).toHaveLength(1);
    },
    120_000,
  );

  it(
    'second SIGTERM exits at once and the restart ends the activation',
    async () => {
      const worker = scenario.workers.at(-1);
      if (worker === undefined) throw new Error('no running worker');
      await stopOtherWorkers(worker);
      const activation = await scenario.activateEndingIn(DOUBLE_TERM_USER, 3);
      await scenario.waitForExpiryJob(activation.id);
      const lock = await holdAuditLock(scenario.environment.databaseUrl);
      try {
        await waitUntilPassed(activation.endsAt);
        await expectJobActive(activation.id);
        worker.kill('SIGTERM');
        await worker.waitForOutput(/shutting down/);
        worker.kill('SIGTERM');
        expect(await worker.exited).toBe(1);
        expect((await scenario.activation(activation.id)).status).toBe('active');
      } finally {
        await lock.release();
      }

      await scenario.startProcess();
      const ended = await scenario.waitUntilEnded(activation.id);
      expect(ended.status).toBe('expired');
      await scenario.waitForOutboxDrained();
      expect(scenario.activationMessages(activation, DOUBLE_TERM_USER).ended).toHaveLength(1);
      expect(await scenario.auditCount(activation.id, 'activation.expired')).toBe(1);
    },
    120_000,
  );
});

describe('web shutdown', () => {
  it(
    'SIGTERM stops new requests and finishes the one in hand',
    async () => {
      const web = await scenario.startProcess('web');
      const sender = new SlackSender({ baseUrl: `http://127.0.0.1:${web.port}`, signingSecret: TEST_SIGNING_SECRET, fake: scenario.fake });
      const lock = await holdAuditLock(scenario.environment.databaseUrl);
      let responseUrl: string;
      try {
        const sent = await sender.command(WEB_TERM_USER, 'activate password 30m in flight');
        expect(sent.status).toBe(200);
        responseUrl = sent.responseUrl;
        await eventually(async () => {
          const [row] = await scenario.web.sql<{ waiting: number }[]>`
            select count(*)::int as waiting from pg_locks where locktype = 'advisory' and not granted`;
          return (row?.waiting ?? 0) > 0 ? true : undefined;
        });
        web.kill('SIGTERM');
        await web.waitForOutput(/shutting down/);
        await eventually(async () => {
          const refused = await fetch(`http://127.0.0.1:${web.port}/readyz`).then(
            () => false,
            () => true,
          );
          return refused ? true : undefined;
        });
        expect(web.child.exitCode).toBeNull();
      } finally {
        await lock.release();
      }

      expect(await replyTo(scenario.fake, responseUrl)).toContain('is active for 30 minutes');
      expect(await web.exited).toBe(0);
      const [row] = await scenario.web.sql<{ status: string }[]>`
        select status from activations where user_id = ${WEB_TERM_USER}`;
      expect(row?.status).toBe('active');
    },
    90_000,
  );
});

/**
 * Stops every worker process but `keep` and waits for them to exit, so that the expiry job
 * can only run in `keep`. An earlier test may have left a worker running.
 */
async function stopOtherWorkers(keep: AppProcess): Promise<void> {
  const others = scenario.workers.filter(
    (worker) => worker !== keep && worker.child.exitCode === null && worker.child.signalCode === null,
  );
  for (const worker of others) worker.kill('SIGTERM');
  await Promise.all(others.map((worker) => worker.exited));
}

async function expectJobActive(activationId: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const state = await scenario.expiryJobState(activationId);
    if (state === 'active') return;
    if (Date.now() > deadline) throw new Error(`expiry job of ${activationId} is ${state}, not active`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
