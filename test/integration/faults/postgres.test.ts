import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultScenario, waitUntilPassed } from '../../support/fault-scenario.js';
import { eventually, replyTo } from '../../support/harness.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../support/private-servers.js';

const ADMIN = 'UADMINPG';
const [STATUS_USER, MIDWAY_USER, DUE_USER] = ['UPGSTAT1', 'UPGMIDW1', 'UPGDUE01'] as const;
// Every auditing transaction takes this advisory lock (src/services/audit.ts).
const AUDIT_CHAIN_LOCK_KEY = 7_301_145_002;
const UNAVAILABLE = 'temporarily unavailable';

let server: PrivatePostgres;
let scenario: FaultScenario;
let workerPort: number;

beforeAll(async () => {
  server = await startPrivatePostgres();
  scenario = await FaultScenario.create({ admin: ADMIN, users: [STATUS_USER, MIDWAY_USER, DUE_USER], postgresUrl: server.url });
  workerPort = (await scenario.startProcess()).port;
}, 120_000);

afterAll(async () => {
  await server?.start().catch(() => undefined);
  await scenario?.destroy();
  await server?.destroy();
});

async function readyStatus(baseUrl: string): Promise<number> {
  return (await fetch(`${baseUrl}/readyz`)).status;
}

/** Sends a command and returns the HTTP ack time and the reply posted to the response URL. */
async function command(
  userId: string,
  text: string,
): Promise<{ status: number; ackMs: number; replyMs: number; reply: string }> {
  const sentAt = Date.now();
  const result = await scenario.web.sender.command(userId, text);
  const reply = await replyTo(scenario.fake, result.responseUrl);
  return { status: result.status, ackMs: result.elapsedMs, replyMs: Date.now() - sentAt, reply };
}

function expectProcessesAlive(): void {
  for (const worker of scenario.workers) expect(worker.child.exitCode).toBeNull();
}

describe('Postgres stopped', () => {
  it(
    'commands get a calm reply and /readyz turns 503 until it returns',
    async () => {
      await server.stop();
      const stoppedAt = Date.now();
      await eventually(async () => ((await readyStatus(scenario.web.baseUrl)) === 503 ? true : undefined));
      const notReadyAfterMs = Date.now() - stoppedAt;

      const down = await command(STATUS_USER, 'status');
      expect(down.status).toBe(200);
      expect(down.ackMs).toBeLessThan(3_000);
      expect(down.reply).toContain(UNAVAILABLE);
      expect(await readyStatus(`http://127.0.0.1:${workerPort}`)).toBe(503);
      expectProcessesAlive();

      await server.start();
      const startedAt = Date.now();
      await eventually(async () => ((await readyStatus(scenario.web.baseUrl)) === 200 ? true : undefined));
      const readyAfterMs = Date.now() - startedAt;
      const up = await command(STATUS_USER, 'status');
      expect(up.reply).toContain('Eligible');
      console.info(
        `measured: /readyz 503 ${notReadyAfterMs} ms after Postgres stopped, 200 ${readyAfterMs} ms after it started; ack while down ${Math.round(down.ackMs)} ms, reply ${down.replyMs} ms`,
      );
    },
    90_000,
  );

  it(
    'a command cut off mid-transaction changes nothing and can be repeated',
    async () => {
      const lock = postgres(scenario.environment.databaseUrl, { max: 1, onnotice: () => undefined });
      await lock`select pg_advisory_lock(${AUDIT_CHAIN_LOCK_KEY})`;
      const pending = scenario.web.sender.command(MIDWAY_USER, 'activate password 30m midway');
      await eventually(async () => {
        const [row] = await scenario.web.sql<{ waiting: number }[]>`
          select count(*)::int as waiting from pg_locks where locktype = 'advisory' and not granted`;
        return (row?.waiting ?? 0) > 0 ? true : undefined;
      });
      await server.stop();
      await lock.end({ timeout: 1 }).catch(() => undefined);
      const result = await pending;
      expect(await replyTo(scenario.fake, result.responseUrl)).toContain(UNAVAILABLE);

      await server.start();
      await eventually(async () => ((await readyStatus(scenario.web.baseUrl)) === 200 ? true : undefined));
      const [before] = await scenario.web.sql<{ count: number }[]>`
        select count(*)::int as count from activations where user_id = ${MIDWAY_USER}`;
      expect(before?.count).toBe(0);

      const again = await command(MIDWAY_USER, 'activate password 30m midway');
      expect(again.reply).toContain('is active for 30 minutes');
      const [row] = await scenario.web.sql<{ id: string }[]>`select id from activations where user_id = ${MIDWAY_USER}`;
      if (row === undefined) throw new Error('no activation after the retry');
      await scenario.waitForOutboxDrained();
      const messages = scenario.activationMessages(row, MIDWAY_USER);
      expect(messages.started).toHaveLength(1);
      expect(messages.announced).toHaveLength(1);
      expect(await scenario.auditCount(row.id, 'activation.activated')).toBe(1);
      expectProcessesAlive();
    },
    90_000,
  );

  it(
    'an expiry due during the outage happens once Postgres returns',
    async () => {
      const activation = await scenario.activateEndingIn(DUE_USER, 4);
      await scenario.waitForExpiryJob(activation.id);
      await scenario.waitForOutboxDrained();

      await server.stop();
      await waitUntilPassed(activation.endsAt, 2_000);
      await server.start();
      const ended = await scenario.waitUntilEnded(activation.id, 60_000);
      expect(ended.status).toBe('expired');

      await scenario.waitForOutboxDrained();
      expect(scenario.activationMessages(activation, DUE_USER).ended).toHaveLength(1);
      expect(await scenario.auditCount(activation.id, 'activation.expired')).toBe(1);
      expectProcessesAlive();
    },
    120_000,
  );
});
