/**
 * Profiling aid, not part of `npm run bench`: starts the app with `--cpu-prof`, ends a wave of
 * activations (live, or after 10 s of downtime with `catch-up`), and prints when each kind of
 * outbox row was delivered.
 * Usage: `npx tsx bench/profile-expiry.ts [activations] [live|catch-up] [profile folder] [--no-profile] [--timeline]`.
 * With `--no-profile` the app runs without `--cpu-prof`, to time the wave alone. `--timeline`
 * prints, per 200 ms from the first end time, how many activations were due, revoked and sent their DM.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeSlack } from '../test/support/fake-slack.js';
import { BENCH_ADMINS, BENCH_SECURITY_CHANNEL, benchAppConfig } from './support/app-config.js';
import { startChild } from './support/child.js';
import { createBenchStore, seedHomeTabViewers } from './support/database.js';
import { RunMetrics } from './support/metrics.js';
import { measureCatchUp, measureLiveExpiry } from './scenarios/expiry.js';

const profiling = !process.argv.includes('--no-profile');
const timeline = process.argv.includes('--timeline');
const positional = process.argv.slice(2).filter((argument) => !argument.startsWith('--'));
const activations = Number.parseInt(positional[0] ?? '10000', 10);
const mode = positional[1] ?? 'live';
if (mode !== 'live' && mode !== 'catch-up') throw new Error(`mode must be live or catch-up, got ${mode}`);
const profileDirectory = positional[2] ?? join(tmpdir(), `pim-profile-${Date.now().toString(36)}`);
mkdirSync(profileDirectory, { recursive: true });
const name = `prof${Date.now().toString(36)}`;
const store = await createBenchStore(name, BENCH_SECURITY_CHANNEL);
await seedHomeTabViewers(store, BENCH_ADMINS);
const fake = await FakeSlack.start();
try {
  const config = benchAppConfig(fake, store);
  const startApp = (name: string) =>
    startChild(
      'app',
      { BENCH_APP_CONFIG: JSON.stringify(config) },
      join(profileDirectory, `${name}.log`),
      profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`] : [],
    );
  let app = await startApp('app');
  const metrics = new RunMetrics();
  const startedAt = Date.now();
  const plan = { activations, spreadMs: 2_000, leadMs: 25_000, downtimeMs: 10_000, timeline };
  if (mode === 'live') await measureLiveExpiry(fake, store, plan, 'P', metrics);
  else app = await measureCatchUp(fake, store, plan, 'P', app, () => startApp('app-catch-up'), metrics);
  process.stderr.write(`wave measured after ${Date.now() - startedAt} ms\n`);
  for (const [key, value] of metrics.values) process.stderr.write(`${key}: ${value}\n`);
  const kinds = await store.handle.sql`
    select kind, count(*)::int as rows, count(delivered_at)::int as delivered,
      min(delivered_at) as first_delivered, max(delivered_at) as last_delivered
    from outbox group by kind order by kind`;
  console.table(kinds);
  await app.stop();
  process.stderr.write(`${profiling ? 'profiles and logs' : 'logs'} in ${profileDirectory}\n`);
} finally {
  await fake.close();
  await store.drop();
}
