import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  messageText,
  replyTo,
  SECURITY_CHANNEL,
  TEST_REDIS_URL,
  TEST_SIGNING_SECRET,
  type TestEnvironment,
} from '../support/harness.js';
import { listeningAddresses } from '../support/listening-sockets.js';
import { SlackSender } from '../support/slack-requests.js';
import { deleteRedisKeys, dropDatabase } from '../../src/sandbox/storage-reset.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = `${ROOT}node_modules/.bin/tsx`;
const ADMIN = 'UADMIN03';
const ALICE = 'UALICE03';

interface RunOutcome {
  assignmentEndsAt: string;
  activationMinutes: number;
  dmEpoch: number;
  activationEndsAtEpoch: number;
  exitCode: number | null;
}

let fake: FakeSlack;
const environments: TestEnvironment[] = [];

beforeAll(async () => {
  fake = await FakeSlack.start();
  fake.setUser({ id: ADMIN, tz: 'America/Los_Angeles' });
  fake.setUser({ id: ALICE, tz: 'Asia/Tokyo' });
});

afterAll(async () => {
  await fake?.close();
  for (const environment of environments) await environment.destroy();
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** Kills a process started by `startProcess` and everything it started that still runs. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

function startProcess(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  // tsx runs the app in a child process of its own, so the test kills the whole group: killing
  // only tsx would leave the app running after a failed assertion.
  const child = spawn(TSX, ['src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function runFlowInTimeZone(timeZone: string): Promise<RunOutcome> {
  const environment = createTestEnvironment();
  environments.push(environment);
  const port = await freePort();
  const { child, output } = startProcess({
    TZ: timeZone,
    SLACK_BOT_TOKEN: fake.botToken,
    SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
    SLACK_API_URL: fake.apiUrl,
    PIM_ADMINS: ADMIN,
    PIM_SECURITY_CHANNEL: SECURITY_CHANNEL,
    PORT: String(port),
    DATABASE_URL: environment.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    PIM_REDIS_PREFIX: environment.redisPrefix,
    LOG_LEVEL: 'info',
  });
  const sql = postgres(environment.databaseUrl, { max: 1, onnotice: () => undefined });
  try {
    const baseUrl = `http://127.0.0.1:${port}`;
    await eventually(async () => {
      const response = await fetch(`${baseUrl}/readyz`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    }, 45_000).catch((error: unknown) => {
      throw new Error(`process in ${timeZone} never became ready: ${String(error)}\n${output()}`);
    });
    // With Slack tokens the app serves Slack's requests from outside, so it binds every interface.
    expect(await listeningAddresses(port)).toEqual([expect.stringMatching(/^(::|0\.0\.0\.0)$/)]);
    expect(output()).toContain('"msg":"connected to Slack"');
    expect(output()).toContain('"msg":"bootstrapped administrators from PIM_ADMINS"');
    const sender = new SlackSender({ baseUrl, signingSecret: TEST_SIGNING_SECRET, fake });

    const assign = await sender.command(ADMIN, `assign <@${ALICE}> global eligible until 2099-01-10T12:00 on call`);
    expect(await replyTo(fake, assign.responseUrl)).toContain('eligible');
    const activate = await sender.command(ALICE, 'activate global 2h database incident');
    expect(await replyTo(fake, activate.responseUrl)).toContain('is active for 2 hours');

    const [assignment] = await sql<{ ends_at: Date }[]>`select ends_at from assignments where user_id = ${ALICE}`;
    const [activation] = await sql<{ id: string; starts_at: Date; ends_at: Date }[]>`
      select id, starts_at, ends_at from activations where user_id = ${ALICE}`;
    if (assignment === undefined || activation === undefined) throw new Error('flow wrote no rows');
    const dm = await fake.waitFor(
      'chat.postMessage',
      (call) => call.body.channel === ALICE && messageText(call.body).includes('is active for you'),
    );
    const dmEpoch = Number(/<!date\^(\d+)\^/.exec(messageText(dm.body))?.[1]);

    child.kill('SIGTERM');
    const [exitCode] = (await once(child, 'exit')) as [number | null];
    return {
      assignmentEndsAt: assignment.ends_at.toISOString(),
      activationMinutes: (activation.ends_at.getTime() - activation.starts_at.getTime()) / 60_000,
      dmEpoch,
      activationEndsAtEpoch: Math.floor(activation.ends_at.getTime() / 1000),
      exitCode,
    };
  } finally {
    killGroup(child);
    await sql.end({ timeout: 5 });
  }
}

describe('npm start process', () => {
  it('stops with one line per configuration problem', async () => {
    const { child, output } = startProcess({ SLACK_BOT_TOKEN: 'xoxb-1', PORT: 'abc', PIM_ADMINS: 'nobody' });
    const [exitCode] = (await once(child, 'exit')) as [number | null];
    expect(exitCode).toBe(1);
    expect(output()).toContain('SLACK_SIGNING_SECRET: missing');
    expect(output()).toContain('PORT: must be a port number');
    expect(output()).toContain('PIM_ADMINS: must list Slack user IDs');
  });

  it('without a bot token rejects settings only a Slack app uses', async () => {
    const { child, output } = startProcess({ SLACK_SIGNING_SECRET: 'secret', PORT: 'abc' });
    const [exitCode] = (await once(child, 'exit')) as [number | null];
    expect(exitCode).toBe(1);
    expect(output()).not.toContain('SLACK_BOT_TOKEN: missing');
    expect(output()).toContain('SLACK_SIGNING_SECRET: set without SLACK_BOT_TOKEN');
    expect(output()).toContain('PORT: must be a port number');
  });

  it(
    'without a bot token starts the sandbox and says so first',
    async () => {
      const environment = createTestEnvironment();
      environments.push(environment);
      const port = await freePort();
      const { child, output } = startProcess({
        PORT: String(port),
        DATABASE_URL: environment.databaseUrl,
        REDIS_URL: TEST_REDIS_URL,
        PIM_REDIS_PREFIX: environment.redisPrefix,
        LOG_LEVEL: 'info',
      });
      // The sandbox keeps to <name>_sandbox, which the environment does not drop by itself.
      environments.push({
        ...environment,
        destroy: async () => {
          await dropDatabase(`${environment.databaseUrl}_sandbox`);
          await deleteRedisKeys(TEST_REDIS_URL, `${environment.redisPrefix}-sandbox`);
        },
      });
      try {
        const baseUrl = `http://127.0.0.1:${port}`;
        await eventually(async () => {
          const response = await fetch(`${baseUrl}/readyz`).catch(() => undefined);
          return response?.status === 200 ? true : undefined;
        }, 45_000).catch((error: unknown) => {
          throw new Error(`sandbox never became ready: ${String(error)}\n${output()}`);
        });
        const firstLine = JSON.parse(output().split('\n')[0] ?? '{}') as { msg?: string; url?: string; database?: string };
        expect(firstLine.msg).toContain('sandbox');
        expect(firstLine.url).toBe(`http://localhost:${port}/`);
        expect(firstLine.database).toBe(`${environment.databaseName}_sandbox`);
        // The sandbox talks to its stand-in and seeds its administrator: no line may claim Slack or PIM_ADMINS.
        expect(output()).toContain(`"msg":"connected to the sandbox's stand-in for Slack"`);
        expect(output()).toContain('"msg":"the sandbox seeded its administrator"');
        expect(output()).not.toContain('connected to Slack');
        expect(output()).not.toContain('PIM_ADMINS');
        const page = await fetch(`${baseUrl}/`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('slack-pim sandbox');

        child.kill('SIGTERM');
        const [exitCode] = (await once(child, 'exit')) as [number | null];
        expect(exitCode).toBe(0);
      } finally {
        killGroup(child);
      }
    },
    60_000,
  );

  it(
    'stores identical instants in TZ=UTC and TZ=Asia/Kolkata, and exits 0 on SIGTERM',
    async () => {
      const utc = await runFlowInTimeZone('UTC');
      fake.clear();
      const kolkata = await runFlowInTimeZone('Asia/Kolkata');

      // 12:00 in Los Angeles (the admin's zone) on 10 January is 20:00 UTC.
      expect(utc.assignmentEndsAt).toBe('2099-01-10T20:00:00.000Z');
      expect(kolkata.assignmentEndsAt).toBe(utc.assignmentEndsAt);
      expect(utc.activationMinutes).toBe(120);
      expect(kolkata.activationMinutes).toBe(120);
      expect(utc.dmEpoch).toBe(utc.activationEndsAtEpoch);
      expect(kolkata.dmEpoch).toBe(kolkata.activationEndsAtEpoch);
      expect(utc.exitCode).toBe(0);
      expect(kolkata.exitCode).toBe(0);
    },
    120_000,
  );
});
