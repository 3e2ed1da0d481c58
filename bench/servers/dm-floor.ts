/**
 * The DM floor: a bare process that sends `BENCH_DM_COUNT` expiry DMs with `chat.postMessage`,
 * one per user, through a WebClient built like the app's outbox client (its transport included),
 * 100 calls in flight, as fast as the stack allows. With `BENCH_DM_FLOOR_MODE=marks` it also marks one outbox row
 * delivered per DM, grouped into one UPDATE per round trip like the app's dispatcher. It starts
 * sending as soon as it has reported ready and sends its own timings as a `result`.
 */
import { randomUUID } from 'node:crypto';
import { sendToDriver, serveDriver } from '../support/ipc.js';

sendToDriver({ type: 'starting', atMs: Date.now() });

type Sql = import('postgres').Sql;

/**
 * Group commit as in src/jobs/delivered-marks.ts, without its retries: a row sent while an
 * UPDATE runs joins the next one, so a burst costs one statement per round trip.
 */
class GroupedMarks {
  statements = 0;
  private waiting: { id: number; done: (error?: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly db: Sql) {}

  mark(id: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ id, done: (error) => (error === undefined ? resolve() : reject(error)) });
      this.flushing ??= this.flushAll().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  private async flushAll(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      let failure: unknown;
      try {
        this.statements += 1;
        await this.db`
          update outbox set delivered_at = now(), locked_until = null
          where id = any(${this.db.array(batch.map((waiter) => waiter.id))}::bigint[])`;
      } catch (error) {
        failure = error;
      }
      for (const waiter of batch) waiter.done(failure);
    }
  }
}

const { WebClient } = await import('@slack/web-api');
const { createLogger } = await import('../../src/logger.js');
const { toBoltLogger } = await import('../../src/slack/bolt-logger.js');
const { createWebApiTransport } = await import('../../src/slack/web-api-transport.js');
const { renderNotice } = await import('../../src/slack/notice-messages.js');
const { OUTBOX_METADATA_EVENT_TYPE } = await import('../../src/slack/notice-sender.js');

// As in the app's dispatcher (src/jobs/outbox-dispatcher.ts): rows delivered at once.
const IN_FLIGHT = 100;
// As OUTBOX_SLACK_TIMEOUT_MS in src/runtime.ts.
const SLACK_TIMEOUT_MS = 10_000;
// No call starts after this long, so a stuck fake cannot keep the run going.
const SEND_DEADLINE_MS = 120_000;

const mode = process.env.BENCH_DM_FLOOR_MODE;
if (mode !== 'send' && mode !== 'marks') throw new Error(`BENCH_DM_FLOOR_MODE must be send or marks, got ${mode}`);
const count = Number.parseInt(requireEnv('BENCH_DM_COUNT'), 10);
if (!Number.isInteger(count) || count < 1) throw new Error(`BENCH_DM_COUNT must be a positive integer, got ${process.env.BENCH_DM_COUNT}`);
const userPrefix = requireEnv('BENCH_DM_USER_PREFIX');

// Logs go to stderr at the level the app runs with in the benchmark. The Web API client formats
// its debug lines (request bodies included) before the logger drops them, as in the app.
const logger = createLogger('info', process.stderr);
const transport = createWebApiTransport();
const client = new WebClient(requireEnv('BENCH_SLACK_TOKEN'), {
  slackApiUrl: requireEnv('BENCH_SLACK_API_URL'),
  fetch: transport.fetch,
  logger: toBoltLogger(logger.child({ component: 'slack-web-api' })),
  retryConfig: { retries: 0 },
  rejectRateLimitedCalls: true,
  timeout: SLACK_TIMEOUT_MS,
});

// The same pool size as the app (db/client.ts). The driver seeded the rows this run marks.
const sql = mode === 'marks' ? await connectPostgres(requireEnv('BENCH_DATABASE_URL')) : undefined;
serveDriver(async () => {
  await sql?.end({ timeout: 5 });
  await transport.close();
});
const rowIds = sql === undefined ? [] : await readRowIds(sql, requireEnv('BENCH_DM_ROW_KIND'));
if (sql !== undefined && rowIds.length !== count) throw new Error(`expected ${count} seeded outbox rows, found ${rowIds.length}`);

// The app's expiry DM. It names neither the user nor the activation, so one rendering serves
// every user, and the floor measures sending alone.
const { text, blocks } = renderNotice({
  type: 'activation_ended',
  activationId: randomUUID(),
  userId: `${userPrefix}N000000`,
  roleName: 'Service Administrator',
  reason: 'expired',
  endedBy: 'system',
  endedAt: new Date().toISOString(),
});
const messages = Array.from({ length: count }, (_, index) => ({
  userId: `${userPrefix}N${String(index).padStart(6, '0')}`,
  outboxId: rowIds[index] ?? index + 1,
}));
const marks = sql === undefined ? undefined : new GroupedMarks(sql);

sendToDriver({ type: 'ready', port: 0, atMs: Date.now() });

let next = 0;
let failures = 0;
const firstCallAtMs = Date.now();
const cpuBefore = process.cpuUsage();
const deadline = firstCallAtMs + SEND_DEADLINE_MS;
const worker = async () => {
  while (next < messages.length && Date.now() < deadline) {
    const message = messages[next];
    next += 1;
    if (message === undefined) break;
    try {
      await client.chat.postMessage({
        channel: message.userId,
        text,
        blocks,
        unfurl_links: false,
        metadata: { event_type: OUTBOX_METADATA_EVENT_TYPE, event_payload: { outbox_id: message.outboxId } },
      });
      await marks?.mark(message.outboxId);
    } catch (error) {
      failures += 1;
      if (failures <= 5) logger.error({ err: error, userId: message.userId }, 'DM floor call failed');
    }
  }
};
await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
const lastDoneAtMs = Date.now();
const cpu = process.cpuUsage(cpuBefore);
sendToDriver({
  type: 'result',
  result: {
    firstCallAtMs,
    lastDoneAtMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    attempted: next,
    failures,
    markStatements: marks?.statements ?? 0,
  },
});

async function connectPostgres(url: string): Promise<Sql> {
  const { default: postgres } = await import('postgres');
  return postgres(url, { max: 10, onnotice: () => undefined });
}

async function readRowIds(db: Sql, kind: string): Promise<number[]> {
  const rows = await db<{ id: string }[]>`select id from outbox where kind = ${kind} and delivered_at is null order by id`;
  return rows.map((row) => Number(row.id));
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set; start this script with bench/run.ts`);
  return value;
}
