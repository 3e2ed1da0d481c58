import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type DatabaseHandle } from '../../db/client.js';
import { HomeRefresher } from '../../src/jobs/home-refresher.js';
import { createLogger } from '../../src/logger.js';
import { concurrentAdminDashboard } from '../../src/services/dashboard.js';
import { resolveRefreshTargets } from '../../src/services/home-refresh.js';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  replyTo,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';

const ADMIN = 'UADMINHR1';
const VIEWERS = ['UVIEWHR01', 'UVIEWHR02', 'UVIEWHR03', 'UVIEWHR04', 'UVIEWHR05'];
const NOT_A_VIEWER = 'UNOVIEWHR';

let environment: TestEnvironment;
let fake: FakeSlack;
let database: DatabaseHandle;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [ADMIN, ...VIEWERS, NOT_A_VIEWER]) fake.setUser({ id, tz: 'UTC' });
});

afterAll(async () => {
  await fake?.close();
  await environment?.destroy();
});

describe('Home refreshes through the running app', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ environment, fake, admins: [ADMIN] });
  });

  afterAll(async () => {
    await app?.stop();
  });

  it('refreshes only opened tabs', async () => {
    const [viewer] = VIEWERS;
    if (viewer === undefined) throw new Error('no viewer');
    expect((await app.sender.appHomeOpened(viewer)).status).toBe(200);
    await eventually(async () => (fake.homeView(viewer) === undefined ? undefined : true));
    const publishedBefore = publishCount(viewer);

    // The non-viewer's change commits first, so its refresh is served no later than the viewer's.
    await assign(app, NOT_A_VIEWER);
    await assign(app, viewer);

    await eventually(async () => (JSON.stringify(fake.homeView(viewer)?.view).includes('user-administrator') ? true : undefined));
    expect(publishCount(viewer)).toBeGreaterThan(publishedBefore);
    // A pass publishes its tabs concurrently, so a wrong publish to the non-viewer can land after
    // the viewer's. The refresher marks a pass's rows delivered once all its publishes returned.
    await eventually(async () => {
      const [waiting] = await app.sql<{ count: number }[]>`
        select count(*)::int as count from outbox where kind = 'home_refresh' and delivered_at is null`;
      return waiting?.count === 0 ? true : undefined;
    });
    expect(publishCount(NOT_A_VIEWER)).toBe(0);
    const [row] = await app.sql<{ count: number }[]>`select count(*)::int as count from home_tab_viewers where user_id = ${viewer}`;
    expect(row?.count).toBe(1);
  });
});

describe('HomeRefresher passes', () => {
  let app: TestApp;
  let refresher: HomeRefresher | undefined;

  beforeAll(async () => {
    // The web role migrates and seeds the database but runs no refresher of its own.
    app = await startTestApp({ environment, fake, admins: [ADMIN], processRole: 'web' });
    database = connectDatabase(environment.databaseUrl, { maxConnections: 4 });
    await database.sql`delete from outbox where kind = 'home_refresh'`;
    await database.sql`delete from home_tab_viewers`;
    fake.clear();
  });

  afterEach(async () => {
    await refresher?.stop();
    refresher = undefined;
    await database.sql`delete from outbox where kind = 'home_refresh'`;
    await database.sql`delete from home_tab_viewers`;
    fake.clear();
  });

  afterAll(async () => {
    await database?.close();
    await app?.stop();
  });

  it('publishes each viewer once per pass', async () => {
    await recordViewers([ADMIN, ...VIEWERS]);
    for (let index = 0; index < 30; index++) {
      await insertRefresh({ userIds: [VIEWERS[index % VIEWERS.length] ?? '', NOT_A_VIEWER], administrators: index % 3 === 0 });
    }
    // A row written before refreshes were grouped.
    await insertRefresh({ userId: VIEWERS[0] ?? '' });

    await startRefresher();
    await eventually(async () => ((await countWaiting()) === 0 ? true : undefined));

    for (const userId of [ADMIN, ...VIEWERS]) expect(publishCount(userId)).toBe(1);
    expect(publishCount(NOT_A_VIEWER)).toBe(0);
    expect(JSON.stringify(fake.homeView(ADMIN)?.view)).toContain('Administration');
  });

  it('waits out a 429 Retry-After', async () => {
    await recordViewers(VIEWERS);
    await insertRefresh({ userIds: VIEWERS, administrators: false });
    fake.failNext('views.publish', { retryAfterSeconds: 1 });

    await startRefresher();
    await eventually(async () => (VIEWERS.every((userId) => successfulPublishes(userId) === 1) ? true : undefined));

    // One rejected call, and no view built only to be rejected.
    expect(fake.calls('views.publish')).toHaveLength(VIEWERS.length + 1);
    const [retry] = await database.sql<{ waited: number }[]>`
      select extract(epoch from available_at - created_at)::float as waited from outbox
      where kind = 'home_refresh' order by id desc limit 1`;
    expect(retry?.waited).toBeGreaterThanOrEqual(0.9);
    // The refresher marks the row delivered after the last publish returns.
    await eventually(async () => ((await countWaiting()) === 0 ? true : undefined));
  });

  it('keeps the views.publish pace', async () => {
    const many = Array.from({ length: 15 }, (_, index) => `UPACEHR${String(index).padStart(2, '0')}`);
    for (const id of many) fake.setUser({ id, tz: 'UTC' });
    await recordViewers(many);
    await insertRefresh({ userIds: many, administrators: false });

    await startRefresher();
    const calls = await eventually(async () => {
      const published = fake.calls('views.publish');
      return published.length === many.length ? published : undefined;
    }, 20_000);
    const times = calls.map((call) => call.at).sort((a, b) => a - b);
    expect((times[10] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(5_000);
    expect((times[9] ?? 0) - (times[0] ?? 0)).toBeLessThan(5_000);
    for (const userId of many) expect(publishCount(userId)).toBe(1);
  });

  it('forgets users Slack rejects', async () => {
    const [gone] = VIEWERS;
    if (gone === undefined) throw new Error('no viewer');
    await recordViewers([gone]);
    await insertRefresh({ userIds: [gone], administrators: false });
    fake.failNext('views.publish', { error: 'user_not_found' });

    await startRefresher();
    await eventually(async () => ((await countWaiting()) === 0 ? true : undefined));
    const [row] = await database.sql<{ count: number }[]>`select count(*)::int as count from home_tab_viewers`;
    expect(row?.count).toBe(0);
  });

  it('shares concurrent administrator reads', async () => {
    const readAdmin = concurrentAdminDashboard(database.db, app.clock);
    const [first, second] = await Promise.all([readAdmin(true), readAdmin(false)]);
    expect(first.roles).toBe(second.roles);
    expect(first.canChange).toBe(true);
    expect(second.canChange).toBe(false);

    await database.sql`insert into roles (slug, name) values ('shared-read-role', 'Shared Read Role')`;
    const later = await readAdmin(true);
    expect(later.roles).not.toBe(first.roles);
    expect(later.roles.map((role) => role.slug)).toContain('shared-read-role');
  });

  it('resolves more users than bind parameters', async () => {
    await recordViewers(VIEWERS.slice(0, 2));
    const userIds = new Set(Array.from({ length: 70_000 }, (_, index) => `UMANY${index}`));
    for (const viewer of VIEWERS) userIds.add(viewer);

    const targets = await resolveRefreshTargets(database.db, app.clock.now(), { userIds, administrators: false });
    expect(targets).toEqual(VIEWERS.slice(0, 2));
  });

  async function startRefresher(): Promise<void> {
    const client = new WebClient(fake.botToken, {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
    refresher = new HomeRefresher({
      db: database.db,
      sql: database.sql,
      client,
      directory: app.runtime.context.directory,
      clock: app.clock,
      logger: createLogger('silent'),
    });
    await refresher.start();
  }
});

async function assign(app: TestApp, userId: string): Promise<void> {
  const result = await app.sender.command(ADMIN, `assign <@${userId}> user-administrator eligible`);
  expect(await replyTo(fake, result.responseUrl)).toContain('is now eligible');
}

function publishCount(userId: string): number {
  return fake.calls('views.publish').filter((call) => call.body.user_id === userId).length;
}

function successfulPublishes(userId: string): number {
  return fake.calls('views.publish').filter((call) => call.body.user_id === userId && call.status === 200 && typeof call.response === 'object' && call.response.ok === true).length;
}

async function recordViewers(userIds: string[]): Promise<void> {
  for (const userId of userIds) await database.sql`insert into home_tab_viewers (user_id) values (${userId})`;
}

async function insertRefresh(payload: Record<string, unknown>): Promise<void> {
  await database.sql`insert into outbox (kind, payload) values ('home_refresh', ${JSON.stringify(payload)}::jsonb)`;
}

async function countWaiting(): Promise<number> {
  const [row] = await database.sql<{ count: number }[]>`
    select count(*)::int as count from outbox where kind = 'home_refresh' and delivered_at is null`;
  return row?.count ?? 0;
}
