/**
 * `npm run bench` (add `-- --quick` for a smoke run, `-- --runs N` to repeat): measures
 * slack-pim beside a bare Bolt app on the same machine and prints a Markdown report.
 * Everything runs on loopback against databases `pim_bench_*` and Redis keys `pimbench-*`,
 * which the run creates and drops.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FakeSlack } from '../test/support/fake-slack.js';
import { SlackSender } from '../test/support/slack-requests.js';
import {
  BENCH_ADMINS as ADMINS,
  BENCH_SECURITY_CHANNEL as SECURITY_CHANNEL,
  BENCH_SIGNING_SECRET as SIGNING_SECRET,
  benchAppConfig,
} from './support/app-config.js';
import { startChild, type ChildServer } from './support/child.js';
import { BENCH_REDIS_URL, createBenchStore, seedHomeTabViewers, type BenchStore } from './support/database.js';
import { RunMetrics } from './support/metrics.js';
import { writeReport } from './support/report.js';
import { measureAudit, seedAuditEvents, type AuditPlan } from './scenarios/audit.js';
import { measureDmFloor } from './scenarios/dm-floor.js';
import { measureCatchUp, measureLiveExpiry, type ExpiryPlan } from './scenarios/expiry.js';
import {
  measureActivation,
  measureApprove,
  measureFloor,
  measureHome,
  measureModal,
  type HomePlan,
  type LoadPlan,
} from './scenarios/requests.js';

/** Sizes of one benchmark run. */
interface Plan {
  runs: number;
  load: LoadPlan;
  home: HomePlan;
  expiry: ExpiryPlan;
  audit: AuditPlan;
}

const FULL_PLAN: Plan = {
  runs: 3,
  load: { concurrencyLevels: [1, 10, 50], floorRequests: 2_000, appRequests: 500, warmupRequests: 200, levelTimeLimitMs: 60_000 },
  home: { roles: 1_000, users: 10_000, assignments: 100_000, adminEligibleRoles: 60, requestsPerLevel: 200 },
  expiry: { activations: 10_000, spreadMs: 2_000, leadMs: 25_000, downtimeMs: 10_000 },
  audit: { events: 1_000_000, exportEvents: 100_000 },
};

const QUICK_PLAN: Plan = {
  runs: 1,
  load: { concurrencyLevels: [1, 10, 50], floorRequests: 300, appRequests: 100, warmupRequests: 50, levelTimeLimitMs: 20_000 },
  home: { roles: 100, users: 1_000, assignments: 10_000, adminEligibleRoles: 60, requestsPerLevel: 50 },
  expiry: { activations: 1_000, spreadMs: 2_000, leadMs: 6_000, downtimeMs: 10_000 },
  audit: { events: 100_000, exportEvents: 10_000 },
};

const { values: options } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, runs: { type: 'string' } },
});
const plan: Plan = { ...(options.quick ? QUICK_PLAN : FULL_PLAN) };
if (options.runs !== undefined) plan.runs = Number.parseInt(options.runs, 10);
if (!Number.isInteger(plan.runs) || plan.runs < 1) throw new Error(`--runs must be a positive integer, got ${options.runs}`);

const benchId = `${Date.now().toString(36)}`;
const logDirectory = join(tmpdir(), `pim-bench-${benchId}`);
mkdirSync(logDirectory, { recursive: true });
const logFile = (name: string) => join(logDirectory, `${name}.log`);
const progress = (message: string) => process.stderr.write(`[bench ${new Date().toISOString()}] ${message}\n`);
progress(`plan ${options.quick ? 'quick' : 'full'}, ${plan.runs} run(s); child logs in ${logDirectory}`);

const stores: BenchStore[] = [];
const runs: RunMetrics[] = [];
const children = new Set<ChildServer>();
try {
  const auditStore = await createBenchStore(`${benchId}_audit`, SECURITY_CHANNEL);
  stores.push(auditStore);
  progress(`seeding ${plan.audit.events} audit events`);
  const auditSeed = await seedAuditEvents(auditStore, plan.audit);

  for (let run = 1; run <= plan.runs; run += 1) {
    progress(`run ${run}`);
    runs.push(await runOnce(run, auditStore, auditSeed));
  }
  const report = await writeReport({ runs, command: commandLine(), quick: options.quick, planText: JSON.stringify(plan) });
  process.stdout.write(report.markdown);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`./results/${benchId}.json`, import.meta.url), JSON.stringify(report.json, null, 2));
  progress(`raw figures in bench/results/${benchId}.json`);
} finally {
  for (const child of children) await child.stop().catch(() => undefined);
  for (const store of stores) await store.drop().catch((error: unknown) => progress(`drop failed: ${String(error)}`));
}

async function runOnce(run: number, auditStore: BenchStore, auditSeed: Awaited<ReturnType<typeof seedAuditEvents>>) {
  const metrics = new RunMetrics();
  const fake = await FakeSlack.start();
  try {
    const store = await createBenchStore(`${benchId}_r${run}`, SECURITY_CHANNEL);
    stores.push(store);
    // The administrators look at their dashboards, so every change refreshes their Home tabs.
    await seedHomeTabViewers(store, ADMINS);

    for (const mode of ['ack', 'io'] as const) {
      progress(`floor (${mode})`);
      const floor = await track(
        startChild(
          'floor',
          {
            BENCH_FLOOR_MODE: mode,
            BENCH_SIGNING_SECRET: SIGNING_SECRET,
            BENCH_DATABASE_URL: store.databaseUrl,
            BENCH_REDIS_URL,
          },
          logFile(`floor-${mode}`),
        ),
      );
      const label = mode === 'ack' ? 'floor: ack only' : 'floor: ack after Postgres + Redis';
      await measureFloor(target(fake, floor, `R${run}${mode.toUpperCase()}`), plan.load, label, metrics);
      await untrack(floor);
    }

    let app = await track(startApp(fake, store, `app-r${run}`));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    recordMemory(metrics, 'at rest', await app.memory());
    const appTarget = target(fake, app, `R${run}`);
    progress('activate (direct)');
    await measureActivation(appTarget, store, plan.load, SECURITY_CHANNEL, metrics);
    progress('activate (modal)');
    await measureModal(appTarget, store, plan.load, metrics);
    progress('approve');
    await measureApprove(appTarget, store, plan.load, ADMINS[0] ?? '', metrics);
    progress('App Home');
    await measureHome(appTarget, store, plan.load, plan.home, ADMINS, metrics);
    recordMemory(metrics, 'after the request loads', await app.memory());
    await untrack(app);

    // Clearing the fake's call log keeps the calls of earlier scenarios out of the driver's heap
    // while the DM floor and the expiry waves run.
    for (const mode of ['send', 'marks'] as const) {
      progress(`DM floor (${mode}) of ${plan.expiry.activations} DMs`);
      fake.clear();
      const launcher = {
        start: (env: Record<string, string>) => track(startChild('dm-floor', env, logFile(`dm-floor-${mode}`))),
        stop: untrack,
      };
      await measureDmFloor(fake, store, plan.expiry.activations, mode, `R${run}`, launcher, metrics);
    }
    fake.clear();

    const expiryStore = await createBenchStore(`${benchId}_r${run}x`, SECURITY_CHANNEL);
    stores.push(expiryStore);
    await seedHomeTabViewers(expiryStore, ADMINS);
    app = await track(startApp(fake, expiryStore, `app-r${run}-expiry`));
    progress(`expiry of ${plan.expiry.activations} activations (live)`);
    await measureLiveExpiry(fake, expiryStore, plan.expiry, `R${run}`, metrics);
    recordMemory(metrics, 'after the live expiry wave', await app.memory());
    progress(`expiry of ${plan.expiry.activations} activations (catch-up)`);
    children.delete(app);
    app = await track(
      measureCatchUp(fake, expiryStore, plan.expiry, `R${run}`, app, () => startApp(fake, expiryStore, `app-r${run}-catch-up`), metrics),
    );
    recordMemory(metrics, 'after the catch-up wave', await app.memory());
    await untrack(app);

    progress('audit');
    await measureAudit(auditStore, auditSeed, plan.audit, logFile('audit-export'), metrics);
    for (const dropped of [store, expiryStore]) {
      await dropped.drop();
      stores.splice(stores.indexOf(dropped), 1);
    }
    return metrics;
  } finally {
    await fake.close();
  }
}

function startApp(fake: FakeSlack, store: BenchStore, name: string): Promise<ChildServer> {
  return startChild('app', { BENCH_APP_CONFIG: JSON.stringify(benchAppConfig(fake, store)) }, logFile(name));
}

function target(fake: FakeSlack, child: ChildServer, tag: string) {
  return {
    fake,
    tag,
    sender: new SlackSender({ baseUrl: `http://127.0.0.1:${child.port}`, signingSecret: SIGNING_SECRET, fake }),
  };
}

async function track(starting: Promise<ChildServer>): Promise<ChildServer> {
  const child = await starting;
  children.add(child);
  return child;
}

async function untrack(child: ChildServer): Promise<void> {
  await child.stop();
  children.delete(child);
}

function recordMemory(metrics: RunMetrics, moment: string, report: { rssBytes: number; maxRssBytes: number }): void {
  metrics.set('memory', `app RSS ${moment} MB`, report.rssBytes / 1e6);
  metrics.set('memory', `app peak RSS ${moment} MB`, report.maxRssBytes / 1e6);
}

function commandLine(): string {
  const extra = process.argv.slice(2);
  return extra.length === 0 ? 'npm run bench' : `npm run bench -- ${extra.join(' ')}`;
}
