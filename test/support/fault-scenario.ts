/**
 * The cast of the fault tests: a fake Slack, a web app in this process and worker processes that
 * the test kills and restarts, over one database and Redis prefix. Helpers count what Slack
 * received and what the audit trail holds, for the "exactly once" checks.
 */
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { EXPIRY_QUEUE, expiryJobIds } from '../../src/jobs/queues.js';
import { appEnv, startAppProcess, type AppProcess } from './app-process.js';
import { FakeSlack, type RecordedCall } from './fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  messageText,
  replyTo,
  SECURITY_CHANNEL,
  startTestApp,
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  TEST_SIGNING_SECRET,
  TestClock,
  type TestApp,
  type TestEnvironment,
} from './harness.js';
import { freePort } from './private-servers.js';

/** Minimum activation length; activations that end sooner are made by moving the web app's clock. */
const ACTIVATION_MINUTES = 1;

/** An activation as Postgres stores it. */
export interface ActivationRow {
  id: string;
  status: string;
  endsAt: Date;
  endedAt: Date | null;
}

/** A fault test's database, fake Slack, in-process web app and worker processes. */
export class FaultScenario {
  readonly workers: AppProcess[] = [];
  private readonly expiryQueue: Queue;
  private readonly queueConnection: Redis;

  private constructor(
    readonly environment: TestEnvironment,
    readonly fake: FakeSlack,
    readonly web: TestApp,
  ) {
    this.queueConnection = new Redis(environment.redisUrl, { maxRetriesPerRequest: null });
    // Tests stop Redis on purpose; the reconnect errors are expected.
    this.queueConnection.on('error', () => undefined);
    this.expiryQueue = new Queue(EXPIRY_QUEUE, { connection: this.queueConnection, prefix: environment.redisPrefix });
  }

  /**
   * Starts a fake Slack and a web-only app, makes `admin` an administrator and `users` eligible
   * for the Password Administrator role. No worker runs until `startWorker`.
   */
  static async create(options: {
    admin: string;
    users: readonly string[];
    postgresUrl?: string;
    redisUrl?: string;
  }): Promise<FaultScenario> {
    const environment = createTestEnvironment(options.postgresUrl ?? TEST_POSTGRES_URL, options.redisUrl ?? TEST_REDIS_URL);
    const fake = await FakeSlack.start();
    fake.setUser({ id: options.admin, tz: 'UTC' });
    for (const user of options.users) fake.setUser({ id: user, tz: 'UTC' });
    // Bootstrap and assignments happen a little in the past, so activations made with the clock
    // moved back (see activateEndingIn) find them in force.
    const clock = new TestClock();
    clock.offsetMs = -2 * ACTIVATION_MINUTES * 60_000;
    const web = await startTestApp({ environment, fake, admins: [options.admin], processRole: 'web', clock });
    const scenario = new FaultScenario(environment, fake, web);
    try {
      for (const user of options.users) {
        const result = await web.sender.command(options.admin, `assign <@${user}> password eligible`);
        const reply = await replyTo(fake, result.responseUrl);
        if (!reply.includes('eligible')) throw new Error(`assigning ${user} failed: ${reply}`);
      }
    } finally {
      web.clock.offsetMs = 0;
    }
    return scenario;
  }

  /** Starts an app process in `role` (a worker by default) and waits until its `/readyz` returns 200. */
  async startProcess(role: 'worker' | 'web' | 'all' = 'worker'): Promise<AppProcess & { port: number }> {
    const port = await freePort();
    const worker = startAppProcess(
      appEnv({
        apiUrl: this.fake.apiUrl,
        botToken: this.fake.botToken,
        signingSecret: TEST_SIGNING_SECRET,
        databaseUrl: this.environment.databaseUrl,
        redisUrl: this.environment.redisUrl,
        redisPrefix: this.environment.redisPrefix,
        port,
        role,
        securityChannelId: SECURITY_CHANNEL,
      }),
    );
    this.workers.push(worker);
    await eventually(async () => {
      if (worker.child.exitCode !== null) throw new Error(`${role} process exited during start-up:\n${worker.output()}`);
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    }, 45_000);
    return Object.assign(worker, { port });
  }

  /**
   * Activates the role for `userId` so that it ends `secondsLeft` seconds from now. The web
   * app's clock runs behind real time for the request; workers use the real clock.
   */
  async activateEndingIn(userId: string, secondsLeft: number): Promise<ActivationRow> {
    this.web.clock.offsetMs = (secondsLeft - ACTIVATION_MINUTES * 60) * 1000;
    try {
      const result = await this.web.sender.command(userId, `activate password ${ACTIVATION_MINUTES}m fault test`);
      const reply = await replyTo(this.fake, result.responseUrl);
      if (!reply.includes('is active')) throw new Error(`activation for ${userId} failed: ${reply}`);
    } finally {
      this.web.clock.offsetMs = 0;
    }
    const [row] = await this.web.sql<{ id: string }[]>`
      select id from activations where user_id = ${userId} order by requested_at desc limit 1`;
    if (row === undefined) throw new Error(`no activation for ${userId}`);
    return this.activation(row.id);
  }

  /** Reads an activation. */
  async activation(id: string): Promise<ActivationRow> {
    const [row] = await this.web.sql<{ id: string; status: string; ends_at: Date; ended_at: Date | null }[]>`
      select id, status, ends_at, ended_at from activations where id = ${id}`;
    if (row === undefined) throw new Error(`activation ${id} not found`);
    return { id: row.id, status: row.status, endsAt: row.ends_at, endedAt: row.ended_at };
  }

  /** Waits until the activation is no longer active and returns it. */
  async waitUntilEnded(id: string, timeoutMs = 30_000): Promise<ActivationRow> {
    return eventually(async () => {
      const row = await this.activation(id);
      return row.status === 'active' ? undefined : row;
    }, timeoutMs);
  }

  /** Waits until the expiry job of an activation (its slot's or its own) is in Redis, in any state. */
  async waitForExpiryJob(activationId: string, timeoutMs = 15_000): Promise<void> {
    await eventually(async () => ((await this.expiryJob(activationId)) ? true : undefined), timeoutMs);
  }

  /** Returns the state of an activation's expiry job, or `missing`. */
  async expiryJobState(activationId: string): Promise<string> {
    const job = await this.expiryJob(activationId);
    return job === undefined ? 'missing' : await job.getState();
  }

  private async expiryJob(activationId: string): Promise<Job | undefined> {
    const { endsAt } = await this.activation(activationId);
    for (const id of expiryJobIds(activationId, endsAt)) {
      const job = await this.expiryQueue.getJob(id);
      if (job !== undefined) return job;
    }
    return undefined;
  }

  /** Counts audit events of one action on an activation. */
  async auditCount(activationId: string, action: string): Promise<number> {
    const [row] = await this.web.sql<{ count: number }[]>`
      select count(*)::int as count from audit_events where target_id = ${activationId} and action = ${action}`;
    return row?.count ?? 0;
  }

  /** Waits until no outbox row is owed, so every message that will be sent has been sent. */
  async waitForOutboxDrained(timeoutMs = 45_000): Promise<void> {
    await eventually(async () => {
      const [row] = await this.web.sql<{ count: number }[]>`
        select count(*)::int as count from outbox where delivered_at is null and failed_at is null`;
      return row?.count === 0 ? true : undefined;
    }, timeoutMs);
  }

  /** Successful posts to a user's DM or a channel whose text contains `text`. */
  delivered(channelOrUserId: string, text: string): RecordedCall[] {
    return this.fake
      .messagesTo(channelOrUserId)
      .filter((call) => call.status === 200 && (call.response as { ok?: boolean }).ok === true)
      .filter((call) => messageText(call.body).includes(text));
  }

  /** Successful posts naming the activation: the user's start DM and the security post. */
  activationMessages(activation: { id: string }, userId: string) {
    return {
      started: this.delivered(userId, 'is active for you'),
      announced: this.delivered(SECURITY_CHANNEL, activation.id),
      ended: this.delivered(userId, 'has ended for you'),
    };
  }

  /** Kills every process still running, stops the web app and drops the database and keys. */
  async destroy(): Promise<void> {
    for (const worker of this.workers) worker.kill('SIGKILL');
    await Promise.all(this.workers.map((worker) => worker.exited));
    await this.expiryQueue.close();
    this.queueConnection.disconnect();
    await this.web.stop();
    await this.fake.close();
    await this.environment.destroy();
  }
}

/** Resolves once real time has passed `at`, plus `marginMs`. */
export async function waitUntilPassed(at: Date, marginMs = 250): Promise<void> {
  const waitMs = at.getTime() + marginMs - Date.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}
