/**
 * The DM floor: how fast a bare process sends as many DMs as an expiry wave ends, through the
 * same Web API client, to the same fake Slack. It bounds what the app's expiry drain can reach
 * on this machine.
 */
import type { FakeSlack } from '../../test/support/fake-slack.js';
import type { ChildServer } from '../support/child.js';
import type { BenchStore } from '../support/database.js';
import type { RunMetrics } from '../support/metrics.js';
import { dmUserOf } from '../support/tracker.js';

/** `send`: DMs only. `marks`: each DM also marks an outbox row delivered, one UPDATE per round trip. */
export type DmFloorMode = 'send' | 'marks';

export const DM_FLOOR_SCENARIOS: Record<DmFloorMode, string> = {
  send: 'DM floor: send only',
  marks: 'DM floor: send + mark in Postgres',
};

// The outbox kind of the rows the `marks` variant seeds; no dispatcher runs on that database.
const ROW_KIND = 'bench_dm_floor';

/**
 * Starts `bench/servers/dm-floor.ts` through `child.start`, lets it send `messages` DMs to distinct
 * users and records its drain and throughput as the fake saw them. In `marks` mode the rows it
 * marks are seeded in `store`'s outbox first, already claimed, as the dispatcher leaves them.
 */
export async function measureDmFloor(
  fake: FakeSlack,
  store: BenchStore,
  messages: number,
  mode: DmFloorMode,
  tag: string,
  child: { start: (env: Record<string, string>) => Promise<ChildServer>; stop: (child: ChildServer) => Promise<void> },
  metrics: RunMetrics,
): Promise<void> {
  const scenario = DM_FLOOR_SCENARIOS[mode];
  const userPrefix = `UDF${tag}${mode === 'send' ? 'S' : 'M'}`;
  if (mode === 'marks') await seedRows(store, messages, userPrefix);

  const users = new Set<string>();
  let received = 0;
  let firstAtMs = Number.NaN;
  let lastAtMs = Number.NaN;
  const stop = fake.onCall((call) => {
    if (call.method !== 'chat.postMessage' || call.status !== 200) return;
    const user = dmUserOf(call);
    if (user === undefined || !user.startsWith(userPrefix)) return;
    received += 1;
    users.add(user);
    if (Number.isNaN(firstAtMs)) firstAtMs = call.at;
    lastAtMs = call.at;
  });
  let floor: ChildServer | undefined;
  try {
    floor = await child.start({
      BENCH_DM_FLOOR_MODE: mode,
      BENCH_DM_COUNT: String(messages),
      BENCH_DM_USER_PREFIX: userPrefix,
      BENCH_SLACK_TOKEN: fake.botToken,
      BENCH_SLACK_API_URL: fake.apiUrl,
      BENCH_DATABASE_URL: store.databaseUrl,
      BENCH_DM_ROW_KIND: ROW_KIND,
    });
    // The fake records a call before it responds, so every DM is counted once the result arrives.
    // Both processes' CPU time over the drain shows which side limits the drain.
    const driverCpuBefore = process.cpuUsage();
    const result = await floor.result();
    const driverCpu = process.cpuUsage(driverCpuBefore);
    const drainMs = lastAtMs - firstAtMs;
    metrics.set(scenario, 'DMs at the fake', received);
    metrics.set(scenario, 'users without DM', messages - users.size);
    metrics.set(scenario, 'failures', result.failures ?? Number.NaN);
    metrics.set(scenario, 'drain: first to last DM at the fake ms', drainMs);
    metrics.set(scenario, 'throughput/s', (received * 1000) / drainMs);
    const senderMs = (result.lastDoneAtMs ?? Number.NaN) - (result.firstCallAtMs ?? Number.NaN);
    metrics.set(scenario, 'sender: first call to last call done ms', senderMs);
    metrics.set(scenario, 'sender CPU, % of one core over that time', (100 * (result.cpuMs ?? Number.NaN)) / senderMs);
    metrics.set(scenario, 'driver and fake CPU, % of one core over that time', (100 * (driverCpu.user + driverCpu.system)) / 1000 / senderMs);
    metrics.set(scenario, 'process start to ready ms', floor.readyAtMs - floor.startingAtMs);
    metrics.set(scenario, 'process start to last DM ms', lastAtMs - floor.startingAtMs);
    if (mode === 'marks') {
      metrics.set(scenario, 'UPDATE statements', result.markStatements ?? Number.NaN);
      metrics.set(scenario, 'rows marked delivered', await countDelivered(store));
    }
  } finally {
    stop();
    if (floor !== undefined) await child.stop(floor);
  }
}

// Each row carries the payload of an expiry DM's `notice` row, so the UPDATE writes rows of
// the same size as the app's.
async function seedRows(store: BenchStore, messages: number, userPrefix: string): Promise<void> {
  const sql = store.handle.sql;
  await sql`delete from outbox where kind = ${ROW_KIND}`;
  await sql`
    with users as (
      select ${userPrefix} || 'N' || lpad(n::text, 6, '0') as user_id
      from generate_series(0, ${messages}::int - 1) as n)
    insert into outbox (kind, payload, attempts, locked_until)
    select ${ROW_KIND},
      jsonb_build_object('to', jsonb_build_object('userId', user_id), 'notice', jsonb_build_object(
        'type', 'activation_ended', 'activationId', gen_random_uuid(), 'userId', user_id,
        'roleName', 'Service Administrator', 'reason', 'expired', 'endedBy', 'system',
        'endedAt', to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
      1, now() + interval '10 minutes'
    from users`;
}

async function countDelivered(store: BenchStore): Promise<number> {
  const [row] = await store.handle.sql<{ count: number }[]>`
    select count(*)::int as count from outbox where kind = ${ROW_KIND} and delivered_at is not null`;
  return row?.count ?? 0;
}
