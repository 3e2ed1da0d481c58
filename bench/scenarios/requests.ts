/**
 * Request benchmarks: signed slash commands and button clicks sent over loopback, measured from
 * the moment the request is sent.
 */
import { DEFAULT_ROLE_SETTINGS } from '../../src/domain/role-settings.js';
import { activateRole } from '../../src/services/activations.js';
import { updateRoleSettings } from '../../src/services/role-settings.js';
import { listRoles, summarizeRoles } from '../../src/services/roles.js';
import { buildHomeViewForUser } from '../../src/slack/home/publish.js';
import { APPROVE_ACTION } from '../../src/slack/approval-messages.js';
import type { FakeSlack } from '../../test/support/fake-slack.js';
import type { SlackSender } from '../../test/support/slack-requests.js';
import { seedEligible, type BenchStore } from '../support/database.js';
import type { RunMetrics } from '../support/metrics.js';
import { distribution, runClosedLoop } from '../support/stats.js';
import { CallTracker, dmUserOf, mentionedUserIn } from '../support/tracker.js';

/** Role activated directly: the built-in roles need a justification but no approval. */
export const DIRECT_ROLE = 'billing-administrator';
/** Role set to require approval by `APPROVER` for the Approve benchmark. */
export const APPROVAL_ROLE = 'password-administrator';
export const APPROVER = 'UBENCHAPPROVER';
// A message that takes longer than this counts as lost; the run reports it as a failure.
const DELIVERY_TIMEOUT_MS = 60_000;
const OUTBOX_DRAIN_TIMEOUT_MS = 120_000;

/** How much load each concurrency level gets. */
export interface LoadPlan {
  concurrencyLevels: readonly number[];
  /** Requests per level against the floor servers. */
  floorRequests: number;
  /** Requests per level against slack-pim. */
  appRequests: number;
  /** Unmeasured requests before each level, for the floor and the app alike. */
  warmupRequests: number;
  /** Cap on the time one level may take, in milliseconds. */
  levelTimeLimitMs: number;
}

/** Target of the requests: the app's sender, and the fake Slack where their effects arrive. */
export interface Target {
  sender: SlackSender;
  fake: FakeSlack;
  /** Distinguishes user ids between runs and scenarios. */
  tag: string;
}

/** Floor: ack latency of a bare Bolt app, `label` naming the variant. */
export async function measureFloor(target: Target, plan: LoadPlan, label: string, metrics: RunMetrics): Promise<void> {
  for (const concurrency of plan.concurrencyLevels) {
    const result = await runClosedLoop({
      concurrency,
      warmupRequests: plan.warmupRequests,
      maxRequests: plan.floorRequests,
      maxDurationMs: plan.levelTimeLimitMs,
      send: async (index) => {
        const response = await target.sender.command(userId('UF', target.tag, concurrency, index), 'activate');
        if (response.status !== 200) throw new Error(`status ${response.status}`);
        return response.elapsedMs;
      },
    });
    recordLoad(metrics, label, concurrency, 'ack', result);
  }
}

/** `/pim activate role 1h reason`: ack, then the requester's DM and the security channel post. */
export async function measureActivation(
  target: Target,
  store: BenchStore,
  plan: LoadPlan,
  securityChannelId: string,
  metrics: RunMetrics,
): Promise<void> {
  const dms = new CallTracker(target.fake, 'chat.postMessage', dmUserOf);
  const posts = new CallTracker(target.fake, 'chat.postMessage', mentionedUserIn(securityChannelId));
  try {
    for (const concurrency of plan.concurrencyLevels) {
      const users = Array.from({ length: plan.warmupRequests + plan.appRequests }, (_, index) => userId('UA', target.tag, concurrency, index));
      await seedEligible(store.handle.sql, DIRECT_ROLE, users);
      const deliveries: Promise<{ dmMs: number; postMs: number }>[] = [];
      const result = await runClosedLoop({
        concurrency,
        warmupRequests: plan.warmupRequests,
        afterWarmup: () => waitForOutbox(store),
        maxRequests: plan.appRequests,
        maxDurationMs: plan.levelTimeLimitMs,
        send: async (index, measured) => {
          const user = users[index] ?? '';
          const startMs = Date.now();
          if (measured) {
            const dm = dms.expect(user, startMs, DELIVERY_TIMEOUT_MS);
            const post = posts.expect(user, startMs, DELIVERY_TIMEOUT_MS);
            deliveries.push(
              Promise.all([dm, post]).then(([dmAt, postAt]) => ({ dmMs: dmAt - startMs, postMs: postAt - startMs })),
            );
          }
          const response = await target.sender.command(user, `activate ${DIRECT_ROLE} 1h benchmark load`);
          if (response.status !== 200) throw new Error(`status ${response.status}`);
          return response.elapsedMs;
        },
      });
      recordLoad(metrics, 'activate (direct)', concurrency, 'ack', result);
      const settled = await Promise.allSettled(deliveries);
      const delivered = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      metrics.setDistribution('activate (direct)', `c=${concurrency} DM sent`, distribution(delivered.map((d) => d.dmMs)));
      metrics.setDistribution(
        'activate (direct)',
        `c=${concurrency} security post sent`,
        distribution(delivered.map((d) => d.postMs)),
      );
      metrics.set('activate (direct)', `c=${concurrency} messages missing`, settled.length - delivered.length);
      await waitForOutbox(store);
    }
  } finally {
    dms.close();
    posts.close();
  }
}

/** `/pim activate` without arguments: ack, then `views.open` of the activation modal. */
export async function measureModal(target: Target, store: BenchStore, plan: LoadPlan, metrics: RunMetrics): Promise<void> {
  const opens = new CallTracker(target.fake, 'views.open', (call) =>
    typeof call.body.trigger_id === 'string' ? call.body.trigger_id : undefined,
  );
  // The modal lists the user's eligible roles; 50 users, each sending many commands, is enough.
  const users = Array.from({ length: 50 }, (_, index) => userId('UM', target.tag, 0, index));
  await seedEligible(store.handle.sql, DIRECT_ROLE, users);
  try {
    for (const concurrency of plan.concurrencyLevels) {
      const opened: Promise<number>[] = [];
      const result = await runClosedLoop({
        concurrency,
        warmupRequests: plan.warmupRequests,
        afterWarmup: () => waitForOutbox(store),
        maxRequests: plan.appRequests,
        maxDurationMs: plan.levelTimeLimitMs,
        send: async (index, measured) => {
          const startMs = Date.now();
          const response = await target.sender.command(users[index % users.length] ?? '', 'activate');
          if (response.status !== 200) throw new Error(`status ${response.status}`);
          if (measured) opened.push(opens.expect(response.triggerId, startMs, DELIVERY_TIMEOUT_MS).then((atMs) => atMs - startMs));
          return response.elapsedMs;
        },
      });
      recordLoad(metrics, 'activate (modal)', concurrency, 'ack', result);
      const settled = await Promise.allSettled(opened);
      const times = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      metrics.setDistribution('activate (modal)', `c=${concurrency} views.open`, distribution(times));
      const rejected = target.fake.calls('views.open').filter((call) => call.response !== null && (call.response as { ok?: boolean }).ok === false);
      metrics.set('activate (modal)', `c=${concurrency} views.open rejected (cumulative)`, rejected.length);
    }
  } finally {
    opens.close();
  }
}

/** Approve button on a pending request: ack, then the requester's DM that the role is active. */
export async function measureApprove(
  target: Target,
  store: BenchStore,
  plan: LoadPlan,
  adminId: string,
  metrics: RunMetrics,
): Promise<void> {
  const role = (await listRoles(store.handle.db)).find((candidate) => candidate.slug === APPROVAL_ROLE);
  if (role === undefined) throw new Error(`role ${APPROVAL_ROLE} is missing`);
  await updateRoleSettings(store.context, {
    actorId: adminId,
    roleId: role.id,
    settings: { ...DEFAULT_ROLE_SETTINGS, ...role.settings, requireApproval: true, approvers: { users: [APPROVER], groups: [] } },
  });
  const dms = new CallTracker(target.fake, 'chat.postMessage', dmUserOf);
  try {
    for (const concurrency of plan.concurrencyLevels) {
      const requesters = Array.from({ length: plan.warmupRequests + plan.appRequests }, (_, index) =>
        userId('UP', target.tag, concurrency, index),
      );
      await seedEligible(store.handle.sql, APPROVAL_ROLE, requesters);
      const activationIds: string[] = [];
      for (const requester of requesters) {
        const outcome = await activateRole(store.context, {
          userId: requester,
          roleQuery: APPROVAL_ROLE,
          durationMinutes: 60,
          justification: 'benchmark approval',
        });
        activationIds.push(outcome.activation.id);
      }
      // The approval DMs go out first, so they do not compete with the clicks being measured.
      await waitForOutbox(store);
      const delivered: Promise<number>[] = [];
      const result = await runClosedLoop({
        concurrency,
        warmupRequests: plan.warmupRequests,
        afterWarmup: () => waitForOutbox(store),
        maxRequests: plan.appRequests,
        maxDurationMs: plan.levelTimeLimitMs,
        send: async (index, measured) => {
          const startMs = Date.now();
          if (measured) {
            delivered.push(dms.expect(requesters[index] ?? '', startMs, DELIVERY_TIMEOUT_MS).then((atMs) => atMs - startMs));
          }
          const response = await target.sender.action(APPROVER, { actionId: APPROVE_ACTION, value: activationIds[index] ?? '' });
          if (response.status !== 200) throw new Error(`status ${response.status}`);
          return response.elapsedMs;
        },
      });
      recordLoad(metrics, 'approve', concurrency, 'ack', result);
      const settled = await Promise.allSettled(delivered);
      const times = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      metrics.setDistribution('approve', `c=${concurrency} requester DM sent`, distribution(times));
      metrics.set('approve', `c=${concurrency} messages missing`, settled.length - times.length);
      await waitForOutbox(store);
    }
  } finally {
    dms.close();
  }
}

/** Size of the App Home data set. */
export interface HomePlan {
  roles: number;
  users: number;
  assignments: number;
  /** Eligible roles of each administrator whose Home tab is published. */
  adminEligibleRoles: number;
  requestsPerLevel: number;
}

/**
 * App Home of a Privileged Role Administrator over a large directory: `app_home_opened` to
 * `views.publish` through the app, and in this process the time of `buildHomeViewForUser` and
 * of `summarizeRoles` (the role table the administrators' dashboard shows).
 */
export async function measureHome(
  target: Target,
  store: BenchStore,
  plan: LoadPlan,
  home: HomePlan,
  adminIds: readonly string[],
  metrics: RunMetrics,
): Promise<void> {
  await seedHomeData(store, home, adminIds);
  const publishes = new CallTracker(target.fake, 'views.publish', (call) =>
    typeof call.body.user_id === 'string' ? call.body.user_id : undefined,
  );
  try {
    for (const concurrency of plan.concurrencyLevels) {
      const result = await runClosedLoop({
        concurrency,
        warmupRequests: Math.min(plan.warmupRequests, home.requestsPerLevel),
        maxRequests: home.requestsPerLevel,
        maxDurationMs: plan.levelTimeLimitMs,
        send: async (index) => {
          // Consecutive indices in flight map to distinct administrators, so each publish is matched to its event.
          const admin = adminIds[index % adminIds.length] ?? '';
          const startMs = Date.now();
          const published = publishes.expect(admin, startMs, DELIVERY_TIMEOUT_MS);
          const response = await target.sender.appHomeOpened(admin);
          if (response.status !== 200) throw new Error(`status ${response.status}`);
          return (await published) - startMs;
        },
      });
      recordLoad(metrics, 'App Home', concurrency, 'event to views.publish', result);
    }
  } finally {
    publishes.close();
  }

  const builds: number[] = [];
  for (let index = 0; index < 50; index += 1) {
    const startedAt = performance.now();
    await buildHomeViewForUser(store.context.db, store.context.clock, adminIds[0] ?? '');
    builds.push(performance.now() - startedAt);
  }
  metrics.setDistribution('App Home', 'buildHomeViewForUser (in process)', distribution(builds));
  const summaries: number[] = [];
  for (let index = 0; index < 10; index += 1) {
    const startedAt = performance.now();
    await summarizeRoles(store.handle.db, new Date());
    summaries.push(performance.now() - startedAt);
  }
  metrics.setDistribution('App Home', 'summarizeRoles (in process)', distribution(summaries));
}

/**
 * Seeds roles, users and current assignments with SQL: every user has `assignments / users`
 * roles, one in ten of them active (half of those permanent), the rest eligible.
 */
async function seedHomeData(store: BenchStore, home: HomePlan, adminIds: readonly string[]): Promise<void> {
  const sql = store.handle.sql;
  const perUser = Math.floor(home.assignments / home.users);
  const stride = Math.floor(home.roles / perUser);
  await sql`
    insert into roles (slug, name, description, settings)
    select 'bench-role-' || lpad(n::text, 5, '0'), 'Bench role ' || lpad(n::text, 5, '0'), 'benchmark role', '{}'::jsonb
    from generate_series(0, ${home.roles - 1}) as n`;
  await sql`
    with numbered as (select id, row_number() over (order by slug) - 1 as n from roles where slug like 'bench-role-%')
    insert into assignments (role_id, user_id, kind, status, starts_at, ends_at, assigned_by)
    select r.id, 'UHOME' || lpad(u::text, 6, '0'),
      case when (u + k) % 10 = 0 then 'active' else 'eligible' end,
      'current', now() - interval '1 day',
      case when (u + k) % 20 = 0 then now() + interval '30 days' else null end,
      'UBENCHADMIN'
    from generate_series(0, ${home.users - 1}) as u
    cross join generate_series(0, ${perUser - 1}) as k
    join numbered r on r.n = (u + k * ${stride}) % ${home.roles}`;
  for (const admin of adminIds) {
    await sql`
      insert into assignments (role_id, user_id, kind, status, starts_at, assigned_by)
      select id, ${admin}, 'eligible', 'current', now() - interval '1 day', 'UBENCHADMIN'
      from roles where slug like 'bench-role-%' order by slug limit ${home.adminEligibleRoles}`;
  }
  await sql`analyze`;
}

/**
 * Waits until every message and job is delivered, so the next level does not inherit them.
 * Home refreshes keep to Slack's pace for views.publish and go on in the background.
 */
export async function waitForOutbox(store: BenchStore): Promise<void> {
  const deadline = Date.now() + OUTBOX_DRAIN_TIMEOUT_MS;
  while ((await countMessageBacklog(store)) > 0) {
    if (Date.now() > deadline) throw new Error(`the outbox did not drain within ${OUTBOX_DRAIN_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function countMessageBacklog(store: BenchStore): Promise<number> {
  const [row] = await store.handle.sql<{ count: number }[]>`
    select count(*)::int as count from outbox
    where kind <> 'home_refresh' and delivered_at is null and failed_at is null`;
  return row?.count ?? 0;
}

function recordLoad(
  metrics: RunMetrics,
  scenario: string,
  concurrency: number,
  measure: string,
  result: { latencies: number[]; warmupLatencies: number[]; failures: number; throughputPerSecond: number },
): void {
  metrics.setDistribution(scenario, `c=${concurrency} ${measure}`, distribution(result.latencies));
  const warmup = distribution(result.warmupLatencies);
  metrics.set(scenario, `c=${concurrency} warm-up ${measure} p99`, warmup.p99);
  metrics.set(scenario, `c=${concurrency} warm-up ${measure} max`, warmup.max);
  metrics.set(scenario, `c=${concurrency} throughput/s`, result.throughputPerSecond);
  metrics.set(scenario, `c=${concurrency} failures`, result.failures);
}

// Slack user ids are upper-case letters and digits.
function userId(prefix: string, tag: string, concurrency: number, index: number): string {
  return `${prefix}${tag}C${concurrency}N${String(index).padStart(5, '0')}`;
}
