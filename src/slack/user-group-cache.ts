import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { RepeatedFailureLog } from '../jobs/repeated-failure-log.js';
import type { Logger } from '../logger.js';
import { SlackRateLimitedError, UnknownUserGroupError, type Directory } from '../services/context.js';

/**
 * Time to live of a user group's members read from Slack. A change event from Slack drops the
 * entry at once, so this bounds only a change whose event never reached the app, because the app
 * was down past Slack's retries or the events are not subscribed. A member removed then can
 * still decide for at most this long. A shorter time costs calls: `usergroups.users.list` is
 * Slack's Tier 2 ("20+ per minute" for the workspace). At one read per group per minute, however
 * many requests and decisions an incident brings, about 20 approver groups can be in use before
 * Slack responds with HTTP 429.
 */
export const USER_GROUP_CACHE_TTL_MS = 60_000;

// Reads of one group that a change event may each overtake before the group counts as unreadable.
const READ_ATTEMPTS = 3;
// Each change writes a new random change id, so an id that expired or was lost with Redis's data
// never comes back as the value a read in progress saw. The id is kept far longer than a read
// (three attempts of at most 10 s each), so that it cannot appear and expire during one.
const CHANGE_ID_TTL_MS = 10 * 60_000;
// While Redis cannot be reached, a change event is written again this often until the time to
// live has passed, after which every entry written before the event has expired anyway.
const INVALIDATE_RETRY_MS = 1_000;
const LIST_MEMBERS_METHOD = 'usergroups.users.list';

// Writes the entry only if no change event arrived since the read began, because the members
// Slack listed may predate that change. KEYS: entry, change id. ARGV: the change id as read
// before calling Slack ('0' when there was none), the entry, its time to live in ms.
const STORE_IF_UNCHANGED_SCRIPT = `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

const entrySchema = z.union([
  z.object({ members: z.array(z.string()) }),
  // Slack has no such group (`no_such_subteam`), or an event reported it deleted or disabled.
  z.object({ deleted: z.literal(true) }),
]);

type Entry = z.infer<typeof entrySchema>;

type StoreOutcome = 'stored' | 'changed' | 'failed';

/** A change of a user group that Slack reported: new members, or the group deleted or disabled. */
export type UserGroupChange = 'members_changed' | 'deleted';

/** Redis keys of the cache: a group's entry and last change id, and the rate-limit marker. */
export interface UserGroupCacheKeys {
  members: string;
  changes: string;
  rateLimited: string;
}

/** Dependencies of a {@link UserGroupCache}. */
export interface UserGroupCacheOptions {
  redis: Redis;
  /** The installation's Redis prefix (`PIM_REDIS_PREFIX`). */
  redisPrefix: string;
  /** Reads Slack itself. */
  slack: Directory;
  logger: Logger;
}

/** Returns the Redis keys the cache uses for `groupId`. */
export function userGroupCacheKeys(redisPrefix: string, groupId: string): UserGroupCacheKeys {
  return {
    members: `${redisPrefix}:usergroups:members:${groupId}`,
    changes: `${redisPrefix}:usergroups:changes:${groupId}`,
    rateLimited: `${redisPrefix}:usergroups:rate-limited`,
  };
}

/**
 * Cache of the members of Slack user groups, in Redis for every process, kept for
 * {@link USER_GROUP_CACHE_TTL_MS} and dropped when Slack reports a change. After an HTTP 429 from
 * Slack, no process calls it until the Retry-After has passed, and reads that miss the cache
 * throw `SlackRateLimitedError` with the time left. Reads of one group in one process share one
 * call. While Redis cannot be reached, every read calls Slack, and a change event this process
 * received still makes its reads under way read again.
 */
export class UserGroupCache implements Directory {
  private readonly reads = new Map<string, Promise<Entry>>();
  // Groups whose shared read a change event overtook, so that it reads again before it returns.
  private readonly overtakenReads = new Set<string>();
  // Change events per group that this process has not written to Redis yet. Until they are
  // written, reads of the group skip the cached entry, which may predate the change.
  private readonly unwrittenChanges = new Map<string, number>();
  private readonly redisFailures: RepeatedFailureLog;

  constructor(private readonly options: UserGroupCacheOptions) {
    this.redisFailures = new RepeatedFailureLog(options.logger, 'user group cache');
  }

  /** Lists a group's members from the cache, or from Slack when the cache has none. */
  async listUserGroupMembers(groupId: string): Promise<string[]> {
    const entry = await this.readOnce(groupId);
    if ('deleted' in entry) throw new UnknownUserGroupError(groupId);
    return entry.members;
  }

  /**
   * Drops a group's cached members after Slack reported `change`, so that the next read calls
   * Slack, and makes reads already under way read again. A deleted or disabled group is recorded
   * as deleted instead. Repeating it changes nothing more, so a retried event is harmless.
   * Events never write members: Slack may deliver them late, twice or out of order, and an old
   * list could give a removed member back the power to decide.
   */
  async invalidate(groupId: string, change: UserGroupChange): Promise<void> {
    if (this.reads.has(groupId)) this.overtakenReads.add(groupId);
    this.unwrittenChanges.set(groupId, (this.unwrittenChanges.get(groupId) ?? 0) + 1);
    try {
      await this.writeInvalidationWithRetries(groupId, change);
    } finally {
      const unwritten = (this.unwrittenChanges.get(groupId) ?? 1) - 1;
      if (unwritten === 0) this.unwrittenChanges.delete(groupId);
      else this.unwrittenChanges.set(groupId, unwritten);
    }
  }

  private async writeInvalidationWithRetries(groupId: string, change: UserGroupChange): Promise<void> {
    const deadline = performance.now() + USER_GROUP_CACHE_TTL_MS;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.writeInvalidation(groupId, change);
        this.redisFailures.recovered();
        return;
      } catch (error) {
        this.redisFailures.failed(error, 'could not drop the cached members of a user group; retrying');
        if (performance.now() + INVALIDATE_RETRY_MS > deadline) {
          this.options.logger.warn({ groupId, attempts: attempt }, 'gave up dropping cached user group members; they expire by themselves');
          return;
        }
        await sleep(INVALIDATE_RETRY_MS);
      }
    }
  }

  private readOnce(groupId: string): Promise<Entry> {
    const inProgress = this.reads.get(groupId);
    if (inProgress !== undefined) return inProgress;
    const read = this.readThrough(groupId).finally(() => {
      this.reads.delete(groupId);
      this.overtakenReads.delete(groupId);
    });
    this.reads.set(groupId, read);
    return read;
  }

  private async readThrough(groupId: string): Promise<Entry> {
    const keys = userGroupCacheKeys(this.options.redisPrefix, groupId);
    // After a failed write it is unknown whether a change event overtook the read, possibly in
    // another process, so the read calls Slack again without Redis.
    let skipRedis = false;
    for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt += 1) {
      // A change event this process receives while the read waits, for Redis or for Slack, makes
      // it start over, so that no caller who joined after the event gets a list from before it.
      this.overtakenReads.delete(groupId);
      const cached = skipRedis || this.unwrittenChanges.has(groupId) ? undefined : await this.readCached(keys);
      if (this.overtakenReads.has(groupId)) continue;
      if (cached?.entry !== undefined) return cached.entry;
      if (cached !== undefined && cached.rateLimitedForMs > 0) throw new SlackRateLimitedError(LIST_MEMBERS_METHOD, cached.rateLimitedForMs);

      const startedAt = performance.now();
      const entry = await this.readSlack(groupId, keys);
      if (this.overtakenReads.has(groupId)) continue;
      // Without Redis, or with a change not written to it yet, the entry is not stored.
      if (cached === undefined) return entry;
      const outcome = await this.storeIfUnchanged(keys, entry, cached.changes, startedAt);
      if (outcome === 'stored' && !this.overtakenReads.has(groupId)) return entry;
      skipRedis = outcome === 'failed';
    }
    throw new Error(`user group ${groupId} changed in Slack during each of ${READ_ATTEMPTS} reads`);
  }

  // Returns `undefined` when Redis cannot be reached.
  private async readCached(
    keys: UserGroupCacheKeys,
  ): Promise<{ entry: Entry | undefined; changes: string; rateLimitedForMs: number } | undefined> {
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await this.options.redis.multi().get(keys.members).get(keys.changes).pttl(keys.rateLimited).exec();
      throwFailedReply(replies);
    } catch (error) {
      this.redisFailures.failed(error, 'could not read the user group cache; asking Slack');
      return undefined;
    }
    this.redisFailures.recovered();
    const [members, changes, rateLimitedTtl] = replies.map(([, value]) => value);
    return {
      entry: this.parseEntry(keys, members),
      changes: typeof changes === 'string' ? changes : '0',
      // PTTL returns -2 for a missing key.
      rateLimitedForMs: typeof rateLimitedTtl === 'number' ? Math.max(0, rateLimitedTtl) : 0,
    };
  }

  private parseEntry(keys: UserGroupCacheKeys, value: unknown): Entry | undefined {
    if (typeof value !== 'string') return undefined;
    try {
      return entrySchema.parse(JSON.parse(value));
    } catch (error) {
      this.options.logger.warn({ err: error, key: keys.members }, 'ignored an invalid user group cache entry');
      return undefined;
    }
  }

  private async readSlack(groupId: string, keys: UserGroupCacheKeys): Promise<Entry> {
    try {
      return { members: await this.options.slack.listUserGroupMembers(groupId) };
    } catch (error) {
      if (error instanceof UnknownUserGroupError) {
        // Logged when Slack returns the error, not at every read of the cached entry.
        this.options.logger.warn({ groupId }, 'approver group not found in Slack; counted as empty');
        return { deleted: true };
      }
      if (error instanceof SlackRateLimitedError) await this.recordRateLimit(keys, error);
      throw error;
    }
  }

  // Slack's limit counts calls of the method for the whole workspace, so every group waits.
  private async recordRateLimit(keys: UserGroupCacheKeys, error: SlackRateLimitedError): Promise<void> {
    try {
      await this.options.redis.set(keys.rateLimited, String(Date.now() + error.retryAfterMs), 'PX', Math.max(1, error.retryAfterMs));
    } catch (redisError) {
      this.redisFailures.failed(redisError, 'could not record a Slack rate limit in Redis');
    }
  }

  // Returns 'changed' when a change event arrived during the read, and 'failed' when Redis could
  // not run the script. The time to live counts from before the call, so no entry outlives a
  // change by more than it.
  private async storeIfUnchanged(keys: UserGroupCacheKeys, entry: Entry, changes: string, startedAt: number): Promise<StoreOutcome> {
    const ttlMs = Math.max(1, Math.floor(USER_GROUP_CACHE_TTL_MS - (performance.now() - startedAt)));
    try {
      const stored = await this.options.redis.eval(STORE_IF_UNCHANGED_SCRIPT, 2, keys.members, keys.changes, changes, JSON.stringify(entry), ttlMs);
      return stored === 1 ? 'stored' : 'changed';
    } catch (error) {
      this.redisFailures.failed(error, 'could not write the user group cache');
      return 'failed';
    }
  }

  private async writeInvalidation(groupId: string, change: UserGroupChange): Promise<void> {
    const keys = userGroupCacheKeys(this.options.redisPrefix, groupId);
    const transaction = this.options.redis.multi().set(keys.changes, randomUUID(), 'PX', CHANGE_ID_TTL_MS);
    if (change === 'deleted') {
      // NOTE: Slack documents `include_disabled` for usergroups.users.list but not what it returns
      // for a disabled group without it. The group counts as empty from the event on, and after
      // the time to live as Slack then lists it.
      transaction.set(keys.members, JSON.stringify({ deleted: true } satisfies Entry), 'PX', USER_GROUP_CACHE_TTL_MS);
    } else {
      transaction.del(keys.members);
    }
    throwFailedReply(await transaction.exec());
  }
}

// Throws the first error of a MULTI's replies. `null` means Redis discarded the transaction.
function throwFailedReply(replies: [Error | null, unknown][] | null): asserts replies is [Error | null, unknown][] {
  if (replies === null) throw new Error('Redis discarded the transaction');
  const error = replies.find(([replyError]) => replyError !== null)?.[0];
  if (error !== undefined && error !== null) throw error;
}
