import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { DM_FLOOR_SCENARIOS } from '../scenarios/dm-floor.js';
import { BENCH_POSTGRES_URL, BENCH_REDIS_URL } from './database.js';
import type { RunMetrics } from './metrics.js';
import { median } from './stats.js';

const PACKAGES = ['@slack/bolt', '@slack/web-api', 'undici', 'bullmq', 'ioredis', 'drizzle-orm', 'postgres', 'pino', 'zod', 'csv-stringify', 'tsx'];
const REQUEST_SCENARIOS = ['activate (direct)', 'activate (modal)', 'approve'];
const FLOOR_SCENARIO = 'floor: ack after Postgres + Redis';

/** Input of the report: the figures of each run and how they were produced. */
export interface ReportInput {
  runs: RunMetrics[];
  command: string;
  quick: boolean;
  planText: string;
}

/** Builds the Markdown report (machine, versions, figures as min / median / max over runs, targets) and its JSON. */
export async function writeReport(input: ReportInput): Promise<{ markdown: string; json: unknown }> {
  const machine = await describeMachine();
  const keys = [...new Set(input.runs.flatMap((run) => [...run.values.keys()]))];
  const figures = keys.map((key) => {
    const values = input.runs.map((run) => run.values.get(key) ?? Number.NaN);
    return { key, min: Math.min(...values), median: median(values), max: Math.max(...values), values };
  });
  const medianOf = (key: string) => figures.find((figure) => figure.key === key)?.median ?? Number.NaN;

  const lines: string[] = [];
  lines.push(`Command: \`${input.command}\` (${input.runs.length} run(s)${input.quick ? ', quick plan' : ''})`, '');
  lines.push('Machine:', '');
  for (const [name, value] of Object.entries(machine)) lines.push(`- ${name}: ${value}`);
  lines.push('', `Plan: \`${input.planText}\``, '', '### Targets (medians over runs)', '');
  lines.push('| target | measured | limit | result |', '| --- | --- | --- | --- |');
  const spreadMs = (JSON.parse(input.planText) as { expiry?: { spreadMs?: number } }).expiry?.spreadMs ?? Number.NaN;
  for (const row of evaluateTargets(medianOf, keys, spreadMs)) lines.push(`| ${row.target} | ${row.measured} | ${row.limit} | ${row.result} |`);
  lines.push('', '### All figures (ms unless named; min / median / max over runs)', '');
  lines.push('| scenario | measure | min | median | max |', '| --- | --- | ---: | ---: | ---: |');
  for (const figure of figures) {
    const [scenario, measure] = figure.key.split(' | ');
    lines.push(`| ${scenario} | ${measure} | ${format(figure.min)} | ${format(figure.median)} | ${format(figure.max)} |`);
  }
  return { markdown: `${lines.join('\n')}\n`, json: { command: input.command, machine, plan: JSON.parse(input.planText), figures } };
}

function evaluateTargets(medianOf: (key: string) => number, keys: string[], spreadMs: number) {
  const rows: { target: string; measured: string; limit: string; result: string }[] = [];
  const check = (target: string, measured: number, limit: number) => {
    const ratio = measured / limit;
    let result = `missed by ${format((ratio - 1) * 100)} %`;
    if (Number.isNaN(measured)) result = 'not measured';
    else if (ratio <= 1) result = 'met';
    rows.push({ target, measured: format(measured), limit: format(limit), result });
  };
  const levels = [...new Set(keys.flatMap((key) => /c=(\d+) ack p99/.exec(key)?.[1] ?? []))];
  for (const scenario of REQUEST_SCENARIOS) {
    for (const level of levels) {
      const floor = medianOf(`${FLOOR_SCENARIO} | c=${level} ack p99`);
      check(`${scenario} ack p99 at c=${level} ≤ 1.5 × floor`, medianOf(`${scenario} | c=${level} ack p99`), 1.5 * floor);
    }
  }
  // The absolute target is on the revoke. The DMs are held to the DM floor below.
  check('expiry revoke lag p99 < 1 s', medianOf('expiry (live) | end time to revoke committed p99'), 1_000);
  check('catch-up within 5 s of the worker starting', medianOf('expiry (catch-up) | catch-up from process start ms'), 5_000);
  // Beside the absolute targets, the same two figures against a bare process sending as many
  // DMs through the same client to the same fake. The live drain cannot end before the last end
  // time, so its floor is the DM floor's drain or the spread of end times, whichever is longer.
  const dmFloor = DM_FLOOR_SCENARIOS.send;
  check(
    'expiry (live) drain ≤ 1.5 × max(DM floor drain, end-time spread)',
    medianOf('expiry (live) | drain: first end time to last DM ms'),
    1.5 * Math.max(medianOf(`${dmFloor} | drain: first to last DM at the fake ms`), spreadMs),
  );
  check(
    'catch-up ≤ 1.5 × DM floor process start to last DM',
    medianOf('expiry (catch-up) | catch-up from process start ms'),
    1.5 * medianOf(`${dmFloor} | process start to last DM ms`),
  );
  check('App Home build p99 < 200 ms', medianOf('App Home | buildHomeViewForUser (in process) p99'), 200);
  check('role table (summarizeRoles) p99 < 200 ms', medianOf('App Home | summarizeRoles (in process) p99'), 200);
  const auditKey = keys.find((key) => key.startsWith('audit | latest 50') && key.endsWith(' p99'));
  check('audit latest 50 p99 < 20 ms', auditKey === undefined ? Number.NaN : medianOf(auditKey), 20);
  const memory = keys.filter((key) => key.startsWith('memory | app peak RSS')).map(medianOf);
  check('app peak RSS < 250 MB', Math.max(...memory), 250);
  check('CSV export process peak RSS < 250 MB', medianOf('audit | CSV export process peak RSS MB'), 250);
  return rows;
}

async function describeMachine(): Promise<Record<string, string>> {
  const sql = postgres(`${BENCH_POSTGRES_URL}/postgres`, { max: 1, onnotice: () => undefined });
  const redis = new Redis(BENCH_REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    const [pg] = await sql<{ server_version: string }[]>`show server_version`;
    // These settings change what the figures mean. Without autovacuum, the dead rows of earlier
    // scenarios stay, and with synchronous_commit on, every commit waits for its WAL flush.
    const settings = await sql<{ name: string; setting: string }[]>`
      select name, current_setting(name) as setting from pg_settings
      where name in ('autovacuum', 'synchronous_commit', 'shared_buffers', 'max_connections') order by name`;
    const info = await redis.info('server');
    const versions = PACKAGES.map((name) => `${name} ${readVersion(name)}`).join(', ');
    return {
      cores: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
      memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
      node: process.version,
      postgres: `${pg?.server_version ?? 'unknown'} (${settings.map(({ name, setting }) => `${name} ${setting}`).join(', ')})`,
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      packages: versions,
    };
  } finally {
    await sql.end({ timeout: 5 });
    redis.disconnect();
  }
}

function readVersion(name: string): string {
  const path = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

function format(value: number): string {
  if (Number.isNaN(value)) return 'n/a';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}
