import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { Clock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { FakeSlack } from './fake-slack.js';
import { SlackSender } from './slack-requests.js';

/** Postgres server the tests use; each test file gets a database of its own on it. */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
/** Redis the tests use; each test file gets a key prefix of its own on it. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const TEST_SIGNING_SECRET = 'test-signing-secret';
export const SECURITY_CHANNEL = 'CSECURITY';

/** A clock that follows real time plus an offset the test moves, to reach end times at once. */
export class TestClock implements Clock {
  offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** A database and Redis prefix owned by one test file, dropped by `destroy`. */
export interface TestEnvironment {
  databaseUrl: string;
  redisUrl: string;
  databaseName: string;
  redisPrefix: string;
  destroy(): Promise<void>;
}

/**
 * Names a fresh database and Redis prefix; the database is created by the app at start-up.
 * Fault tests pass the URLs of the private servers they start.
 */
export function createTestEnvironment(postgresUrl = TEST_POSTGRES_URL, redisUrl = TEST_REDIS_URL): TestEnvironment {
  const suffix = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const databaseName = `pim_test_${suffix}`;
  const redisPrefix = `pimtest-${suffix}`;
  return {
    databaseUrl: `${postgresUrl}/${databaseName}`,
    databaseName,
    redisUrl,
    redisPrefix,
    destroy: async () => {
      const admin = postgres(`${postgresUrl}/postgres`, { max: 1, onnotice: () => undefined, connect_timeout: 5 });
      try {
        await admin.unsafe(`drop database if exists "${databaseName}" with (force)`);
      } finally {
        await admin.end({ timeout: 5 });
      }
      await deleteRedisKeys(redisUrl, redisPrefix);
    },
  };
}

/** One running app under test with its fake Slack and request sender. */
export interface TestApp {
  runtime: Runtime;
  fake: FakeSlack;
  sender: SlackSender;
  clock: TestClock;
  baseUrl: string;
  /** Prefix of the app's Redis keys. */
  redisPrefix: string;
  /** Direct SQL on the test database, for assertions. */
  sql: postgres.Sql;
  stop(): Promise<void>;
}

export interface TestAppOptions {
  environment: TestEnvironment;
  fake: FakeSlack;
  clock?: TestClock;
  admins?: string[];
  processRole?: Config['processRole'];
  securityChannelId?: string | undefined;
  logger?: Logger;
  /** Per-user request limit; off unless given, so suites can send many commands. */
  rateLimit?: Config['rateLimit'];
  /** App-level token: when set, the app uses Socket Mode. */
  appToken?: string;
}

/** Starts the real runtime (Bolt app, workers, outbox) against the test database and fake Slack. */
export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const clock = options.clock ?? new TestClock();
  const config: Config = {
    slack: {
      botToken: options.fake.botToken,
      signingSecret: TEST_SIGNING_SECRET,
      appToken: options.appToken,
      apiUrl: options.fake.apiUrl,
    },
    port: 0,
    databaseUrl: options.environment.databaseUrl,
    databasePreparedStatements: true,
    redisUrl: options.environment.redisUrl,
    redisPrefix: options.environment.redisPrefix,
    securityChannelId: 'securityChannelId' in options ? options.securityChannelId : SECURITY_CHANNEL,
    adminUserIds: options.admins ?? [],
    processRole: options.processRole ?? 'all',
    rateLimit: options.rateLimit,
    logLevel: 'silent',
  };
  const logger = options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const runtime = await startRuntime(config, clock, logger);
  const baseUrl = `http://127.0.0.1:${runtime.port ?? 0}`;
  const sql = postgres(options.environment.databaseUrl, { max: 2, onnotice: () => undefined });
  return {
    runtime,
    fake: options.fake,
    sender: new SlackSender({ baseUrl, signingSecret: TEST_SIGNING_SECRET, fake: options.fake }),
    clock,
    baseUrl,
    redisPrefix: options.environment.redisPrefix,
    sql,
    stop: async () => {
      await sql.end({ timeout: 5 });
      await runtime.stop();
    },
  };
}

/** Returns the text of the ephemeral reply sent to a command's response URL. */
export async function replyTo(fake: FakeSlack, responseUrl: string): Promise<string> {
  const call = await fake.waitFor('response_url', (candidate) => candidate.url === responseUrl);
  return messageText(call.body);
}

/** Flattens a message's text and every mrkdwn/plain text in its blocks, for assertions. */
export function messageText(body: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof body.text === 'string') parts.push(body.text);
  collectText(body.blocks, parts);
  return parts.join('\n');
}

/** Polls `check` until it returns a value other than `undefined`, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function collectText(value: unknown, parts: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collectText(item, parts);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  if ((record.type === 'mrkdwn' || record.type === 'plain_text') && typeof record.text === 'string') {
    parts.push(record.text);
  }
  for (const [key, child] of Object.entries(record)) {
    if (key !== 'text' || typeof child === 'object') collectText(child, parts);
  }
}

async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
