import type { Config } from '../../src/config.js';
import type { FakeSlack } from '../../test/support/fake-slack.js';
import { BENCH_REDIS_URL, type BenchStore } from './database.js';

/** Signing secret of every request the benchmarks send. */
export const BENCH_SIGNING_SECRET = 'bench-signing-secret';
/** Security channel of the benchmark app. */
export const BENCH_SECURITY_CHANNEL = 'CBENCHSECURITY';
/** The Privileged Role Administrators, who have all opened the Home tab (`seedHomeTabViewers`). */
export const BENCH_ADMINS = Array.from({ length: 50 }, (_, index) => `UBENCHADMIN${String(index).padStart(2, '0')}`);

/**
 * Configuration of the app under benchmark: both process roles, as `npm start` runs it, against
 * the store's database and Redis prefix and the fake Slack.
 */
export function benchAppConfig(fake: FakeSlack, store: BenchStore): Config {
  return {
    slack: { botToken: fake.botToken, signingSecret: BENCH_SIGNING_SECRET, appToken: undefined, apiUrl: fake.apiUrl },
    port: 0,
    databaseUrl: store.databaseUrl,
    databasePreparedStatements: true,
    redisUrl: BENCH_REDIS_URL,
    redisPrefix: store.redisPrefix,
    securityChannelId: BENCH_SECURITY_CHANNEL,
    adminUserIds: BENCH_ADMINS,
    processRole: 'all',
    // Load comes from a handful of simulated users, far over any per-user limit.
    rateLimit: undefined,
    // The default level of `npm start`, so the app pays for its logs as in production.
    logLevel: 'info',
  };
}
