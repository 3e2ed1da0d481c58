/**
 * Expiry benchmarks: many activations ending within the same seconds, ended by the real path
 * (outbox row → BullMQ delayed job → `expireActivation` → outbox DM), with the app running and
 * after it was down past the end times.
 */
import type { FakeSlack } from '../../test/support/fake-slack.js';
import { verifyAuditChain } from '../../src/services/audit-verify.js';
import type { ChildServer } from '../support/child.js';
import { roleId, seedEligible, type BenchStore } from '../support/database.js';
import type { RunMetrics } from '../support/metrics.js';
import { distribution } from '../support/stats.js';
import { dmUserOf } from '../support/tracker.js';

const EXPIRY_ROLE = 'service-administrator';
// Waiting for the last DM gives up after this long past the last end time.
const DRAIN_TIMEOUT_MS = 180_000;

/** Size and timing of an expiry wave. */
export interface ExpiryPlan {
  activations: number;
  /** All end times fall within this window. */
  spreadMs: number;
  /** Time between seeding and the first end time, for the outbox to schedule every job. */
  leadMs: number;
  /** How long the app stays down past the last end time in the catch-up case. */
  downtimeMs: number;
  /** Prints, per 200 ms from the first end time, how many activations were due, revoked and sent their DM. */
  timeline?: boolean;
}

interface Wave {
  users: string[];
  firstEndMs: number;
  lastEndMs: number;
}

/** Ends a wave while the app runs: lag from each end time to its DM, and the drain time. */
export async function measureLiveExpiry(
  fake: FakeSlack,
  store: BenchStore,
  plan: ExpiryPlan,
  tag: string,
  metrics: RunMetrics,
): Promise<void> {
  const received = listenForDms(fake);
  try {
    const wave = await seedWave(store, plan, `UXL${tag}`);
    await waitForScheduling(store, wave, metrics, 'expiry (live)');
    await waitForDms(received.times, wave);
    await recordWave(store, wave, received.times, metrics, 'expiry (live)', plan.timeline === true);
  } finally {
    received.stop();
  }
}

/**
 * Schedules a wave, stops the app before it ends, keeps it down `downtimeMs` past the last end
 * time, starts it again and measures the catch-up. Returns the new app process.
 */
export async function measureCatchUp(
  fake: FakeSlack,
  store: BenchStore,
  plan: ExpiryPlan,
  tag: string,
  app: ChildServer,
  startApp: () => Promise<ChildServer>,
  metrics: RunMetrics,
): Promise<ChildServer> {
  const received = listenForDms(fake);
  try {
    const wave = await seedWave(store, plan, `UXC${tag}`);
    await waitForScheduling(store, wave, metrics, 'expiry (catch-up)');
    await app.stop();
    await sleepUntil(wave.lastEndMs + plan.downtimeMs);
    const restarted = await startApp();
    await waitForDms(received.times, wave);
    const last = await recordWave(store, wave, received.times, metrics, 'expiry (catch-up)', plan.timeline === true);
    // Each figure starts at the first line of the new process. The revoke ends at the last
    // `ended_at` of the wave, the catch-up at its last DM (NaN when one is missing).
    metrics.set('expiry (catch-up)', 'catch-up from process start ms', last.dmMs - restarted.startingAtMs);
    metrics.set('expiry (catch-up)', 'catch-up revoke from process start ms', last.revokeMs - restarted.startingAtMs);
    metrics.set('expiry (catch-up)', 'process start to ready ms', restarted.readyAtMs - restarted.startingAtMs);
    return restarted;
  } finally {
    received.stop();
  }
}

/**
 * Seeds eligible users, one active activation each ending inside the window, and the
 * `expire_activation` outbox rows that `activateRole` would have written, then wakes the dispatcher.
 */
async function seedWave(store: BenchStore, plan: ExpiryPlan, prefix: string): Promise<Wave> {
  const sql = store.handle.sql;
  const users = Array.from({ length: plan.activations }, (_, index) => `${prefix}N${String(index).padStart(6, '0')}`);
  await seedEligible(sql, EXPIRY_ROLE, users);
  const role = await roleId(sql, EXPIRY_ROLE);
  const firstEndMs = Date.now() + plan.leadMs;
  const stepMs = plan.spreadMs / plan.activations;
  await sql`
    with eligible as (
      select id, user_id, row_number() over (order by user_id) - 1 as n
      from assignments where role_id = ${role} and user_id = any(${sql.array(users)}::text[]) and status = 'current'),
    inserted as (
      insert into activations (role_id, user_id, assignment_id, status, requested_at, starts_at, ends_at, duration_minutes, justification)
      select ${role}::uuid, user_id, id, 'active', now() - interval '1 hour', now() - interval '1 hour',
        to_timestamp((${firstEndMs}::float8 + n * ${stepMs}::float8) / 1000), 60, 'benchmark expiry'
      from eligible
      returning id, ends_at)
    insert into outbox (kind, payload)
    select 'expire_activation', jsonb_build_object('activationId', id,
      'endsAt', to_char(ends_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    from inserted`;
  await sql`select pg_notify('pim_outbox', '')`;
  return { users, firstEndMs, lastEndMs: firstEndMs + plan.spreadMs };
}

async function waitForScheduling(store: BenchStore, wave: Wave, metrics: RunMetrics, scenario: string): Promise<void> {
  const startedAt = Date.now();
  // Only this wave's jobs count: Home refreshes left from an earlier wave wait behind messages
  // and jobs, so the whole backlog may not reach zero before the end times.
  while ((await countWaitingExpiryRows(store)) > 0) {
    if (Date.now() > wave.firstEndMs) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  metrics.set(scenario, 'jobs scheduled within ms', Date.now() - startedAt);
  metrics.set(scenario, 'scheduled before first end (1 = yes)', Date.now() <= wave.firstEndMs ? 1 : 0);
}

async function countWaitingExpiryRows(store: BenchStore): Promise<number> {
  const [row] = await store.handle.sql<{ count: number }[]>`
    select count(*)::int as count from outbox
    where kind = 'expire_activation' and delivered_at is null and failed_at is null`;
  return row?.count ?? 0;
}

function listenForDms(fake: FakeSlack): { times: Map<string, number[]>; stop: () => void } {
  const times = new Map<string, number[]>();
  const stop = fake.onCall((call) => {
    if (call.method !== 'chat.postMessage') return;
    const user = dmUserOf(call);
    if (user === undefined) return;
    const list = times.get(user) ?? [];
    list.push(call.at);
    times.set(user, list);
  });
  return { times, stop };
}

async function waitForDms(times: Map<string, number[]>, wave: Wave): Promise<void> {
  const deadline = wave.lastEndMs + DRAIN_TIMEOUT_MS;
  while (wave.users.some((user) => !times.has(user)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Late duplicates would arrive right after the last first DM; give them a moment to show up.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}

/**
 * Records the wave's lags and checks. Returns when the last DM reached the fake and the latest
 * `ended_at` of the wave, each NaN when a user has no DM or an activation did not end.
 */
async function recordWave(
  store: BenchStore,
  wave: Wave,
  times: Map<string, number[]>,
  metrics: RunMetrics,
  scenario: string,
  timeline: boolean,
): Promise<{ dmMs: number; revokeMs: number }> {
  const rows = await store.handle.sql<{ user_id: string; status: string; ends_ms: number; ended_ms: number | null }[]>`
    select user_id, status, extract(epoch from ends_at)::float8 * 1000 as ends_ms,
      extract(epoch from ended_at)::float8 * 1000 as ended_ms
    from activations where user_id = any(${store.handle.sql.array(wave.users)}::text[])`;
  const dmLags: number[] = [];
  const revokeLags: number[] = [];
  let lastDmMs = Number.NaN;
  for (const row of rows) {
    const dmAt = times.get(row.user_id)?.[0];
    if (dmAt !== undefined) {
      dmLags.push(dmAt - row.ends_ms);
      lastDmMs = Number.isNaN(lastDmMs) ? dmAt : Math.max(lastDmMs, dmAt);
    }
    if (row.ended_ms !== null) revokeLags.push(row.ended_ms - row.ends_ms);
  }
  if (timeline) printTimeline(wave, rows, times);
  const [audit] = await store.handle.sql<{ count: number }[]>`
    select count(*)::int as count from audit_events
    where action = 'activation.expired' and subject_user_id = any(${store.handle.sql.array(wave.users)}::text[])`;
  metrics.setDistribution(scenario, 'end time to DM sent', distribution(dmLags));
  metrics.setDistribution(scenario, 'end time to revoke committed', distribution(revokeLags));
  metrics.set(scenario, 'drain: first end time to last DM ms', lastDmMs - wave.firstEndMs);
  metrics.set(scenario, 'activations', wave.users.length);
  metrics.set(scenario, 'expired in Postgres', rows.filter((row) => row.status === 'expired').length);
  metrics.set(scenario, 'expiry audit events', audit?.count ?? 0);
  metrics.set(scenario, 'audit chain verified (1 = yes)', (await verifyAuditChain(store.handle.db)).ok ? 1 : 0);
  metrics.set(scenario, 'users without DM', wave.users.filter((user) => !times.has(user)).length);
  metrics.set(scenario, 'users with more than one DM', wave.users.filter((user) => (times.get(user)?.length ?? 0) > 1).length);
  const lastRevokeMs = Math.max(...rows.map((row) => row.ended_ms ?? Number.NaN));
  return {
    dmMs: dmLags.length === wave.users.length ? lastDmMs : Number.NaN,
    revokeMs: revokeLags.length === wave.users.length ? lastRevokeMs : Number.NaN,
  };
}

async function sleepUntil(atMs: number): Promise<void> {
  const waitMs = atMs - Date.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}

const TIMELINE_STEP_MS = 200;

/** Prints, per step from the first end time, how many activations were due, revoked and sent their first DM. */
function printTimeline(wave: Wave, rows: { user_id: string; ends_ms: number; ended_ms: number | null }[], times: Map<string, number[]>): void {
  const step = (ms: number) => Math.floor((ms - wave.firstEndMs) / TIMELINE_STEP_MS);
  const counts = new Map<number, { due: number; revoked: number; sent: number }>();
  const count = (ms: number | null | undefined, key: 'due' | 'revoked' | 'sent') => {
    if (ms === null || ms === undefined) return;
    const entry = counts.get(step(ms)) ?? { due: 0, revoked: 0, sent: 0 };
    entry[key] += 1;
    counts.set(step(ms), entry);
  };
  for (const row of rows) {
    count(row.ends_ms, 'due');
    count(row.ended_ms, 'revoked');
    count(times.get(row.user_id)?.[0], 'sent');
  }
  process.stderr.write('ms after first end time: due / revoked / DM sent\n');
  for (const index of [...counts.keys()].sort((a, b) => a - b)) {
    const entry = counts.get(index);
    process.stderr.write(`${index * TIMELINE_STEP_MS}: ${entry?.due} / ${entry?.revoked} / ${entry?.sent}\n`);
  }
}
