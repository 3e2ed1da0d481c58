import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { SlackRateLimitedError, UnknownUserGroupError, type Directory } from '../../src/services/context.js';
import { UserGroupCache, userGroupCacheKeys } from '../../src/slack/user-group-cache.js';
import { createTestEnvironment, eventually, TEST_REDIS_URL, type TestEnvironment } from '../support/harness.js';
import { captureLog } from '../support/log-capture.js';

const GROUP = 'SUGCGROUP1';
const OTHER_GROUP = 'SUGCGROUP2';
const THIRD_GROUP = 'SUGCGROUP3';
const MISSING_GROUP = 'SUGCMISS01';
const WARNED_GROUP = 'SUGCWARN01';
const EXPIRING_GROUP = 'SUGCEXPIR1';
const OVERTAKEN_GROUP = 'SUGCOVERT1';
const OUTAGE_GROUP = 'SUGCOUTAG1';
const UNSTORED_GROUP = 'SUGCUNSTO1';
const FULL_GROUP = 'SUGCFULL01';
const STORING_GROUP = 'SUGCSTORE1';
const CACHED_GROUP = 'SUGCCACHE1';
const MEMBERS = ['UUGCMEMB01', 'UUGCMEMB02'];
const RETRY_AFTER_MS = 5_000;
// A port on which nothing listens, for a Redis that cannot be reached.
const UNREACHABLE_REDIS_URL = 'redis://127.0.0.1:1';

let environment: TestEnvironment;
let redis: Redis;
let unreachableRedis: Redis;
const logger = createLogger('silent');

/** A stand-in for Slack's directory that counts its calls and returns what `respond` returns. */
class CountingDirectory implements Directory {
  readonly calls: string[] = [];

  constructor(private readonly respond: (groupId: string) => Promise<string[]>) {}

  async listUserGroupMembers(groupId: string): Promise<string[]> {
    this.calls.push(groupId);
    return this.respond(groupId);
  }
}

/** A stand-in for Slack's directory whose calls wait until the test resolves them, oldest first. */
class HeldDirectory implements Directory {
  calls = 0;
  private readonly pending: ((members: string[]) => void)[] = [];
  private readonly arrivals: (() => void)[] = [];

  listUserGroupMembers(): Promise<string[]> {
    this.calls += 1;
    this.arrivals.shift()?.();
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Resolves when the next call arrives; call it before the call is made. */
  nextCall(): Promise<'called'> {
    return new Promise((resolve) => this.arrivals.push(() => resolve('called')));
  }

  /** Resolves the oldest waiting call with `members`. */
  resolveNext(members: string[]): void {
    const resolve = this.pending.shift();
    if (resolve === undefined) throw new Error('no call of the directory is waiting');
    resolve(members);
  }
}

beforeAll(async () => {
  environment = createTestEnvironment();
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  unreachableRedis = new Redis(UNREACHABLE_REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
});

afterAll(async () => {
  redis?.disconnect();
  unreachableRedis?.disconnect();
  await environment?.destroy();
});

/** Opens a connection of its own, which a test closes and reopens as if Redis went away and came back. */
async function connectFlakyRedis(): Promise<Redis> {
  // Fails commands at once while disconnected, as the app's command connection does.
  const connection = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await connection.connect();
  return connection;
}

/** Reopens a connection that the test closed, once it has closed. */
async function reconnect(connection: Redis): Promise<void> {
  if (connection.status !== 'end') await new Promise((resolve) => connection.once('end', resolve));
  await connection.connect();
}

/**
 * Wraps the test connection so that the reply to the next `eval`, or to the next MULTI, waits
 * until `release` is called. Redis has run the command by the time `ran` resolves.
 */
function holdNextReply(command: 'eval' | 'multi'): { connection: Redis; ran: Promise<void>; release: () => void } {
  const connection = Object.create(redis) as Redis;
  let markRan = (): void => undefined;
  const ran = new Promise<void>((resolve) => (markRan = resolve));
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let replyHeld = false;
  const holdReply = async <T>(reply: Promise<T>): Promise<T> => {
    const value = await reply;
    markRan();
    await released;
    return value;
  };

  if (command === 'eval') {
    connection.eval = ((...args: Parameters<Redis['eval']>) => {
      if (replyHeld) return redis.eval(...args);
      replyHeld = true;
      return holdReply(redis.eval(...args));
    }) as Redis['eval'];
  } else {
    connection.multi = (() => {
      const transaction = redis.multi();
      if (replyHeld) return transaction;
      replyHeld = true;
      const exec = transaction.exec.bind(transaction);
      transaction.exec = () => holdReply(exec());
      return transaction;
    }) as Redis['multi'];
  }
  return { connection, ran, release };
}

function cacheOver(slack: Directory, connection: Redis = redis): UserGroupCache {
  return new UserGroupCache({ redis: connection, redisPrefix: environment.redisPrefix, slack, logger });
}

describe('user group cache', () => {
  it('concurrent reads share one call', async () => {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slack = new CountingDirectory(async () => {
      await released;
      return MEMBERS;
    });
    const cache = cacheOver(slack);

    const reads = [cache.listUserGroupMembers(GROUP), cache.listUserGroupMembers(GROUP)];
    release();

    expect(await Promise.all(reads)).toEqual([MEMBERS, MEMBERS]);
    expect(slack.calls).toEqual([GROUP]);
    expect(await cacheOver(slack).listUserGroupMembers(GROUP)).toEqual(MEMBERS);
    expect(slack.calls).toEqual([GROUP]);
  });

  it('unknown group is cached as unknown', async () => {
    const slack = new CountingDirectory(async (groupId) => {
      throw new UnknownUserGroupError(groupId);
    });
    const cache = cacheOver(slack);

    await expect(cache.listUserGroupMembers(MISSING_GROUP)).rejects.toBeInstanceOf(UnknownUserGroupError);
    await expect(cache.listUserGroupMembers(MISSING_GROUP)).rejects.toBeInstanceOf(UnknownUserGroupError);
    expect(slack.calls).toEqual([MISSING_GROUP]);
  });

  it('unknown group warned once', async () => {
    const log = captureLog('info');
    const slack = new CountingDirectory(async (groupId) => {
      throw new UnknownUserGroupError(groupId);
    });
    const cache = new UserGroupCache({ redis, redisPrefix: environment.redisPrefix, slack, logger: log.logger });

    for (let read = 0; read < 3; read++) {
      await expect(cache.listUserGroupMembers(WARNED_GROUP)).rejects.toBeInstanceOf(UnknownUserGroupError);
    }

    const warnings = log.find('approver group not found in Slack; counted as empty');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.groupId).toBe(WARNED_GROUP);
  });

  it('429 stops every process from calling', async () => {
    const limited = new CountingDirectory(async () => {
      throw new SlackRateLimitedError('usergroups.users.list', RETRY_AFTER_MS);
    });
    const other = new CountingDirectory(async () => MEMBERS);

    await expect(cacheOver(limited).listUserGroupMembers(OTHER_GROUP)).rejects.toBeInstanceOf(SlackRateLimitedError);
    const rejection = await cacheOver(other)
      .listUserGroupMembers(THIRD_GROUP)
      .catch((error: unknown) => error);
    if (!(rejection instanceof SlackRateLimitedError)) throw new Error(`expected a SlackRateLimitedError, got ${String(rejection)}`);

    expect(rejection.retryAfterMs).toBeGreaterThan(0);
    expect(rejection.retryAfterMs).toBeLessThanOrEqual(RETRY_AFTER_MS);
    expect(other.calls).toEqual([]);
    await redis.del(userGroupCacheKeys(environment.redisPrefix, OTHER_GROUP).rateLimited);
  });

  it('change id expiring mid-read stores nothing', async () => {
    const slack = new HeldDirectory();
    const cache = cacheOver(slack);
    const keys = userGroupCacheKeys(environment.redisPrefix, EXPIRING_GROUP);
    await cache.invalidate(EXPIRING_GROUP, 'members_changed');
    const firstCall = slack.nextCall();
    const read = cache.listUserGroupMembers(EXPIRING_GROUP);
    await firstCall;

    // The change id expires during the Slack call, ten minutes after the group's previous change (or
    // Redis restarts empty), and a removal then writes a new one.
    await redis.pexpire(keys.changes, 1);
    await eventually(async () => ((await redis.exists(keys.changes)) === 0 ? true : undefined), 5_000);
    await cache.invalidate(EXPIRING_GROUP, 'members_changed');
    const secondCall = slack.nextCall();
    slack.resolveNext(MEMBERS);

    // Slack's response may predate the removal, so the read must ask again instead of storing it.
    expect(await Promise.race([secondCall, read.then(() => 'returned')])).toBe('called');
    slack.resolveNext(MEMBERS.slice(1));
    expect(await read).toEqual(MEMBERS.slice(1));
    expect(await redis.get(keys.members)).toBe(JSON.stringify({ members: MEMBERS.slice(1) }));
  });

  it('shared read overtaken while Redis is away', async () => {
    const flaky = await connectFlakyRedis();
    const slack = new HeldDirectory();
    const cache = cacheOver(slack, flaky);
    const firstCall = slack.nextCall();
    const before = cache.listUserGroupMembers(OVERTAKEN_GROUP);
    await firstCall;

    // Redis goes away during the Slack call, and a removal arrives that the cache cannot write yet.
    flaky.disconnect();
    const invalidation = cache.invalidate(OVERTAKEN_GROUP, 'members_changed');
    const after = cache.listUserGroupMembers(OVERTAKEN_GROUP);
    const secondCall = slack.nextCall();
    slack.resolveNext(MEMBERS);

    try {
      // A read that began before the removal must not return its list to a caller that came after it.
      expect(await Promise.race([secondCall, after.then(() => 'returned')])).toBe('called');
      slack.resolveNext(MEMBERS.slice(1));
      expect(await after).toEqual(MEMBERS.slice(1));
      expect(await before).toEqual(MEMBERS.slice(1));
    } finally {
      await reconnect(flaky);
      await invalidation;
      flaky.disconnect();
    }
  });

  it('unwritten removal bypasses the cache', async () => {
    const flaky = await connectFlakyRedis();
    let members = MEMBERS;
    const slack = new CountingDirectory(async () => members);
    const cache = cacheOver(slack, flaky);
    expect(await cache.listUserGroupMembers(OUTAGE_GROUP)).toEqual(MEMBERS);

    // A removal arrives while Redis is away. Redis comes back with the old entry before the
    // cache writes the removal again.
    flaky.disconnect();
    members = MEMBERS.slice(1);
    const invalidation = cache.invalidate(OUTAGE_GROUP, 'members_changed');
    await reconnect(flaky);

    try {
      expect(await cache.listUserGroupMembers(OUTAGE_GROUP)).toEqual(MEMBERS.slice(1));
      expect(slack.calls).toEqual([OUTAGE_GROUP, OUTAGE_GROUP]);
    } finally {
      await invalidation;
      flaky.disconnect();
    }
    expect(await redis.exists(userGroupCacheKeys(environment.redisPrefix, OUTAGE_GROUP).members)).toBe(0);
  });

  it('failed store reads again', async () => {
    const flaky = await connectFlakyRedis();
    const slack = new HeldDirectory();
    const cache = cacheOver(slack, flaky);
    const otherProcess = cacheOver(new CountingDirectory(async () => MEMBERS));
    const firstCall = slack.nextCall();
    const before = cache.listUserGroupMembers(UNSTORED_GROUP);
    await firstCall;

    // Another process writes a removal during the Slack call, then this one loses Redis, so it
    // cannot tell whether a change overtook its read.
    await otherProcess.invalidate(UNSTORED_GROUP, 'members_changed');
    flaky.disconnect();
    const after = cache.listUserGroupMembers(UNSTORED_GROUP);
    const secondCall = slack.nextCall();
    slack.resolveNext(MEMBERS);

    expect(await Promise.race([secondCall, after.then(() => 'returned')])).toBe('called');
    slack.resolveNext(MEMBERS.slice(1));
    expect(await after).toEqual(MEMBERS.slice(1));
    expect(await before).toEqual(MEMBERS.slice(1));
  });

  it('rejected store costs one more call', async () => {
    // Redis rejects writes but serves reads, as when it is out of memory under `noeviction`.
    const rejectingWrites = Object.create(redis) as Redis;
    rejectingWrites.eval = async () => {
      throw new Error('OOM command not allowed when used memory > maxmemory');
    };
    const slack = new CountingDirectory(async () => MEMBERS);

    expect(await cacheOver(slack, rejectingWrites).listUserGroupMembers(FULL_GROUP)).toEqual(MEMBERS);
    expect(slack.calls).toEqual([FULL_GROUP, FULL_GROUP]);
  });

  it('event during the store reads again', async () => {
    let members = MEMBERS;
    const slack = new CountingDirectory(async () => members);
    const { connection, ran, release } = holdNextReply('eval');
    const cache = cacheOver(slack, connection);
    const before = cache.listUserGroupMembers(STORING_GROUP);
    await ran;

    // Redis stored the list, and a removal arrives before the read has the reply.
    members = MEMBERS.slice(1);
    await cache.invalidate(STORING_GROUP, 'members_changed');
    const after = cache.listUserGroupMembers(STORING_GROUP);
    release();

    expect(await after).toEqual(MEMBERS.slice(1));
    expect(await before).toEqual(MEMBERS.slice(1));
    expect(slack.calls).toEqual([STORING_GROUP, STORING_GROUP]);
  });

  it('event during a cache hit reads again', async () => {
    let members = MEMBERS;
    const slack = new CountingDirectory(async () => members);
    expect(await cacheOver(slack).listUserGroupMembers(CACHED_GROUP)).toEqual(MEMBERS);
    const { connection, ran, release } = holdNextReply('multi');
    const cache = cacheOver(slack, connection);
    const before = cache.listUserGroupMembers(CACHED_GROUP);
    await ran;

    // Redis returned the cached list, and a removal arrives before the read has the reply.
    members = MEMBERS.slice(1);
    await cache.invalidate(CACHED_GROUP, 'members_changed');
    const after = cache.listUserGroupMembers(CACHED_GROUP);
    release();

    expect(await after).toEqual(MEMBERS.slice(1));
    expect(await before).toEqual(MEMBERS.slice(1));
    expect(slack.calls).toEqual([CACHED_GROUP, CACHED_GROUP]);
  });

  it('reads call Slack while Redis is down', async () => {
    const slack = new CountingDirectory(async () => MEMBERS);
    const cache = cacheOver(slack, unreachableRedis);

    expect(await cache.listUserGroupMembers(GROUP)).toEqual(MEMBERS);
    expect(await cache.listUserGroupMembers(GROUP)).toEqual(MEMBERS);
    expect(slack.calls).toEqual([GROUP, GROUP]);
  });
});
