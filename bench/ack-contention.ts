/**
 * Probe outside the plan of `npm run bench`: how fast can anything ack on this machine while
 * slack-pim works off the commands it has already acked? It measures the bare floor (ack only)
 * at c = 1, 10 and 50 in three settings. First alone, then while the app, in a process of its
 * own, works through a backlog of direct activations, then the same with the app's main thread
 * at nice 10. The floor after Postgres and Redis, measured alone, gives the limit for the app's
 * acks: 1.5 times its p99, as in the plan.
 *
 * An ack that does no work at all, in a process of its own, is the best that any design of the
 * app's ack path can reach. Where it misses the limit, no change to the ack path alone meets it.
 *
 * Usage: `npx tsx bench/ack-contention.ts [rounds]`. Everything runs on loopback, against a
 * database `pim_bench_*` and Redis keys `pimbench-*` that the probe drops at the end. The logs
 * of the processes it starts go to `pim-contention-*.log` in the system's temporary folder.
 */
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeSlack } from '../test/support/fake-slack.js';
import { SlackSender } from '../test/support/slack-requests.js';
import { BENCH_ADMINS, BENCH_SECURITY_CHANNEL, BENCH_SIGNING_SECRET, benchAppConfig } from './support/app-config.js';
import { startChild, type ChildServer } from './support/child.js';
import { BENCH_REDIS_URL, createBenchStore, seedEligible, seedHomeTabViewers, type BenchStore } from './support/database.js';
import { DIRECT_ROLE, waitForOutbox } from './scenarios/requests.js';
import { distribution, runClosedLoop } from './support/stats.js';

const LEVELS = [1, 10, 50] as const;
const WARMUP_REQUESTS = 200;
const MEASURED_REQUESTS = 1_000;
const LEVEL_TIME_LIMIT_MS = 20_000;
// The app's backlog comes from four closed-loop senders of direct activations, bounded in count.
const BACKLOG_SENDERS = 4;
const BACKLOG_MAX_COMMANDS = 6_000;
const BACKLOG_HEAD_START_MS = 1_000;
const DRAIN_TIMEOUT_MS = 180_000;
const LOWER_PRIORITY = 10;

const rounds = Number.parseInt(process.argv[2] ?? '2', 10);
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new Error(`invalid number of rounds ${process.argv[2]}: expected a positive integer`);
}

const id = Date.now().toString(36);
const logFile = (name: string) => join(tmpdir(), `pim-contention-${id}-${name}.log`);
// Each round sends up to two backlogs (normal and lower priority), each to users of its own.
const backlogUsers = Array.from({ length: BACKLOG_MAX_COMMANDS * rounds * 2 }, (_, index) => `UBACKLOG${id}N${index}`);
let nextBacklogUser = 0;

const fake = await FakeSlack.start();
const store = await createBenchStore(`${id}_contention`, BENCH_SECURITY_CHANNEL);
const children: ChildServer[] = [];
try {
  await seedHomeTabViewers(store, BENCH_ADMINS);
  const floorEnv = (mode: string) => ({
    BENCH_FLOOR_MODE: mode,
    BENCH_SIGNING_SECRET,
    BENCH_DATABASE_URL: store.databaseUrl,
    BENCH_REDIS_URL,
  });
  const floorIo = await keep(startChild('floor', floorEnv('io'), logFile('floor-io')));
  const floorAck = await keep(startChild('floor', floorEnv('ack'), logFile('floor-ack')));
  const app = await keep(startApp(fake, store, logFile('app')));
  const appPid = app.process.pid;
  if (appPid === undefined) throw new Error('the app process has no pid, so its priority cannot be set');
  // The app seeds the role catalog when it first starts, so eligibility follows its start.
  await seedEligible(store.handle.sql, DIRECT_ROLE, backlogUsers);

  process.stdout.write('| round | variant | c=1 p50 / p99 | c=10 p50 / p99 | c=50 p50 / p99 |\n| --- | --- | --- | --- | --- |\n');
  for (let round = 1; round <= rounds; round += 1) {
    const alone = await measureAcks(floorIo, `R${round}IO`);
    report(round, 'floor after Postgres + Redis, alone', alone);
    report(round, 'limit: 1.5 × that p99', alone.map(({ p99 }) => ({ p50: Number.NaN, p99: 1.5 * p99 })));
    report(round, 'floor, ack only, alone', await measureAcks(floorAck, `R${round}ACK`));

    for (const nice of [0, LOWER_PRIORITY]) {
      setPriority(appPid, nice);
      let stopped = false;
      const backlog = sendBacklog(app, () => stopped);
      await new Promise((resolve) => setTimeout(resolve, BACKLOG_HEAD_START_MS));
      const busy = await measureAcks(floorAck, `R${round}N${nice}`);
      stopped = true;
      const sent = await backlog;
      report(round, `floor, ack only, app busy (main thread nice ${nice}, ${sent} commands)`, busy);
      await waitForActivations(store, nextBacklogUser);
      await waitForOutbox(store);
    }
    setPriority(appPid, 0);
  }
} finally {
  for (const child of children) await child.stop().catch(() => undefined);
  await fake.close();
  await store.drop();
}

async function keep(starting: Promise<ChildServer>): Promise<ChildServer> {
  const child = await starting;
  children.push(child);
  return child;
}

/** Sends direct activations to the app until `isStopped` returns true or the bound is reached. Returns how many it sent. */
async function sendBacklog(app: ChildServer, isStopped: () => boolean): Promise<number> {
  const sender = senderFor(app);
  let sent = 0;
  const sendUntilStopped = async () => {
    while (!isStopped() && sent < BACKLOG_MAX_COMMANDS) {
      sent += 1;
      const user = backlogUsers[nextBacklogUser] ?? '';
      nextBacklogUser += 1;
      const response = await sender.command(user, `activate ${DIRECT_ROLE} 1h contention probe`);
      if (response.status !== 200) throw new Error(`the app returned HTTP ${response.status} to a backlog command`);
    }
  };
  await Promise.all(Array.from({ length: BACKLOG_SENDERS }, sendUntilStopped));
  return sent;
}

function senderFor(child: ChildServer): SlackSender {
  return new SlackSender({ baseUrl: `http://127.0.0.1:${child.port}`, signingSecret: BENCH_SIGNING_SECRET, fake });
}

async function measureAcks(child: ChildServer, tag: string): Promise<{ p50: number; p99: number }[]> {
  const sender = senderFor(child);
  const figures = [];
  for (const concurrency of LEVELS) {
    const result = await runClosedLoop({
      concurrency,
      warmupRequests: WARMUP_REQUESTS,
      maxRequests: MEASURED_REQUESTS,
      maxDurationMs: LEVEL_TIME_LIMIT_MS,
      send: async (index) => {
        const response = await sender.command(`UCONT${tag}C${concurrency}N${index}`, 'activate');
        if (response.status !== 200) throw new Error(`the floor returned HTTP ${response.status}`);
        return response.elapsedMs;
      },
    });
    const { p50, p99 } = distribution(result.latencies);
    figures.push({ p50, p99 });
  }
  return figures;
}

function report(round: number, variant: string, figures: { p50: number; p99: number }[]): void {
  const cells = figures.map(({ p50, p99 }) => (Number.isNaN(p50) ? p99.toFixed(1) : `${p50.toFixed(1)} / ${p99.toFixed(1)}`));
  process.stdout.write(`| ${round} | ${variant} | ${cells.join(' | ')} |\n`);
}

/** Waits until the app has committed the activations of the first `expected` backlog commands. */
async function waitForActivations(benchStore: BenchStore, expected: number): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const [row] = await benchStore.handle.sql<{ count: number }[]>`
      select count(*)::int as count from activations where user_id like 'UBACKLOG%'`;
    if ((row?.count ?? 0) >= expected) return;
    if (Date.now() > deadline) throw new Error(`the app did not work off its backlog within ${DRAIN_TIMEOUT_MS} ms; see ${logFile('app')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function startApp(fakeSlack: FakeSlack, benchStore: BenchStore, logPath: string): Promise<ChildServer> {
  return startChild('app', { BENCH_APP_CONFIG: JSON.stringify(benchAppConfig(fakeSlack, benchStore)) }, logPath);
}
