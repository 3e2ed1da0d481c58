import type { WebClient } from '@slack/web-api';
import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Database } from '../../db/client.js';
import type { Clock } from '../clock.js';
import { PermanentDeliveryError, RetryableDeliveryError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Directory } from '../services/context.js';
import type { Metrics } from '../metrics.js';
import { sharedAdminDashboard } from '../services/dashboard.js';
import {
  collectRefreshRequests,
  forgetHomeTabViewers,
  resolveRefreshTargets,
} from '../services/home-refresh.js';
import { OutboxWakeups } from './outbox-wakeups.js';
import { publishHome } from '../slack/home/publish.js';
import { RepeatedFailureLog } from './repeated-failure-log.js';

/** `home_refresh` rows claimed per pass; every user they name is published once. */
const CLAIM_LIMIT = 1_000;
/** Home tabs published per pass; the users left over wait for the next pass. */
const PUBLISH_LIMIT = 200;
/**
 * Slack allows `views.publish` about 100 calls per minute per workspace (Tier 4,
 * https://docs.slack.dev/apis/web-api/rate-limits). The refresher keeps to that pace in bursts of
 * 10 per 6 seconds, so a burst of changes neither earns 429s nor builds views Slack would refuse.
 * Publishes for an opened Home tab are not counted here, because the user is waiting for them.
 */
const PUBLISH_BURST = 10;
const PUBLISH_WINDOW_SECONDS = 6;
const PACE_KEY = 'views.publish';
/** Home tabs built and published at once within a pass. */
const PUBLISH_CONCURRENCY = 4;
/** A pass starts no new publish after this long; the users left over wait for the next pass. */
const PASS_DEADLINE_MS = 30_000;
/**
 * A pass's rows are taken over after this long if its process died. It exceeds the deadline
 * plus the Slack client's time-out, so a live pass never has its rows taken from it.
 */
const CLAIM_LEASE_SECONDS = 60;
/** Fallback poll for refreshes whose NOTIFY was missed. */
const POLL_INTERVAL_MS = 5_000;
/** Passes of one refresher start at most this often, so it publishes a user's tab at most once per interval. */
export const DEFAULT_PASS_INTERVAL_MS = 1_000;
/** Failed publishes are retried after doubling delays; after this many passes the user is skipped. */
const MAX_ATTEMPTS = 5;
const FIRST_RETRY_DELAY_MS = 2_000;

/** Users a pass could not publish, and when to try them again. */
interface Leftover {
  userIds: string[];
  delayMs: number;
  attempts: number;
}

/**
 * Publishes the Home tabs that committed changes owe, in passes. A pass claims every waiting
 * `home_refresh` row (up to CLAIM_LIMIT), publishes each user they name once, built from the
 * database at that moment, and marks the rows delivered. `runLoop` starts passes at most once
 * per interval, so a burst of changes costs each open Home tab one publish per interval instead
 * of one per change, and builds the administrators' part of the dashboard once per pass.
 *
 * Publishes keep to Slack's pace for `views.publish`. A pass that reaches it, or gets a 429, stops
 * there: the users left wait, together, for the pace or for Slack's `Retry-After`, instead of each
 * building a view only to be refused.
 */
export class HomeRefresher {
  private readonly db: Database;
  private readonly directory: Directory;
  private readonly client: WebClient;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly passIntervalMs: number;
  private readonly failures: RepeatedFailureLog;
  private readonly publishPace = new RateLimiterMemory({ points: PUBLISH_BURST, duration: PUBLISH_WINDOW_SECONDS });
  private readonly wakeups: OutboxWakeups;
  private running: Promise<void> | undefined;
  private runAgain = false;
  private stopped = false;
  private wakeSleeper: (() => void) | undefined;
  private lastPassAt = 0;

  constructor(options: {
    db: Database;
    sql: postgres.Sql;
    client: WebClient;
    /** Reads the members of approver groups for the approvals each tab lists. */
    directory: Directory;
    clock: Clock;
    logger: Logger;
    metrics?: Metrics;
    passIntervalMs?: number;
  }) {
    this.db = options.db;
    this.directory = options.directory;
    this.client = options.client;
    this.clock = options.clock;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.passIntervalMs = options.passIntervalMs ?? DEFAULT_PASS_INTERVAL_MS;
    this.failures = new RepeatedFailureLog(this.logger, 'home refresh');
    this.wakeups = new OutboxWakeups(options.sql, POLL_INTERVAL_MS, () => this.kick());
  }

  /** Starts polling and listening, and runs a pass for what is already waiting. */
  async start(): Promise<void> {
    await this.wakeups.start();
    this.kick();
  }

  /** Requests a pass; requests during a pass or its interval collapse into one more pass. */
  kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.runAgain = true;
      return;
    }
    this.running = this.runLoop().finally(() => {
      this.running = undefined;
    });
  }

  /** Stops starting passes and waits for the one in hand. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeSleeper?.();
    await this.wakeups.stop();
    await this.running;
  }

  private async runLoop(): Promise<void> {
    do {
      this.runAgain = false;
      // Kicks come with every commit, so wait out the rest of the interval since the last pass.
      await this.sleep(this.lastPassAt + this.passIntervalMs - Date.now());
      if (this.stopped) return;
      const paceWaitMs = await this.paceWaitMs();
      if (paceWaitMs > 0) {
        this.kickLater(paceWaitMs);
        return;
      }
      this.lastPassAt = Date.now();
      try {
        const next = await this.pass();
        this.failures.recovered();
        if (next === 0) this.runAgain = true;
        else if (next !== undefined) this.kickLater(next);
      } catch (error) {
        this.failures.failed(error, 'Home refresh pass failed; retrying on the next poll');
        return;
      }
    } while (this.runAgain && !this.stopped);
  }

  /**
   * Runs one pass. Returns 0 when refreshes are left for the next pass, the delay in ms when
   * they wait for a rate limit or a retry, and `undefined` when nothing is left.
   */
  private async pass(): Promise<number | undefined> {
    const rows = await this.claim();
    if (rows.length === 0) return undefined;
    const rowIds = rows.map((row) => row.id);
    const attempts = Math.max(...rows.map((row) => row.attempts));
    try {
      const requests = collectRefreshRequests(rows.map((row) => row.payload));
      if (requests.unreadable > 0) {
        this.logger.error({ outboxIds: rowIds, unreadable: requests.unreadable }, 'skipped unreadable Home refresh rows');
      }
      const now = this.clock.now();
      const targets = await resolveRefreshTargets(this.db, now, requests);
      const leftovers = await this.publishAll(targets, attempts);
      await this.finish(rowIds, leftovers);
      if (rows.length === CLAIM_LIMIT) return 0;
      return leftovers.length === 0 ? undefined : Math.min(...leftovers.map((leftover) => leftover.delayMs));
    } catch (error) {
      // Reading the database failed: the rows wait and are claimed again after a delay.
      await this.release(rowIds, attempts).catch(() => undefined);
      throw error;
    }
  }

  private kickLater(delayMs: number): void {
    const timer = setTimeout(() => this.kick(), delayMs);
    timer.unref();
  }

  private async claim(): Promise<{ id: number; attempts: number; payload: unknown }[]> {
    const rows = await this.db.execute<{ id: string; attempts: number; payload: unknown }>(sql`
      update outbox set attempts = attempts + 1,
        locked_until = now() + make_interval(secs => ${CLAIM_LEASE_SECONDS})
      where id in (
        select id from outbox
        where kind = 'home_refresh' and delivered_at is null and failed_at is null
          and available_at <= now() and (locked_until is null or locked_until < now())
        order by id
        limit ${CLAIM_LIMIT}
        for update skip locked)
      returning id, attempts, payload`);
    return rows.map((row) => ({ id: Number(row.id), attempts: row.attempts, payload: row.payload }));
  }

  /** Publishes each target's tab; returns the users to try again in a later pass. */
  private async publishAll(targets: string[], attempts: number): Promise<Leftover[]> {
    const now = this.clock.now();
    const readAdmin = sharedAdminDashboard(this.db, now);
    const deadline = Date.now() + PASS_DEADLINE_MS;
    const queue = targets.slice(0, PUBLISH_LIMIT);
    const deferred = targets.slice(PUBLISH_LIMIT);
    const failed: string[] = [];
    const unpublishable: string[] = [];
    let rateLimitedMs: number | undefined;

    const publishNext = async (): Promise<void> => {
      for (let userId = queue.shift(); userId !== undefined; userId = queue.shift()) {
        if (rateLimitedMs !== undefined || Date.now() > deadline || this.stopped) {
          deferred.push(userId);
          continue;
        }
        const waitMs = await this.takePublishSlot();
        if (waitMs > 0) {
          rateLimitedMs = Math.max(rateLimitedMs ?? 0, waitMs);
          deferred.push(userId);
          continue;
        }
        try {
          await publishHome(this.client, this.db, this.clock, userId, readAdmin, { directory: this.directory, logger: this.logger });
          this.metrics?.outboxDeliveries.inc({ kind: 'home_refresh', outcome: 'delivered' });
        } catch (error) {
          if (error instanceof RetryableDeliveryError && error.retryAfterMs !== undefined) {
            rateLimitedMs = Math.max(rateLimitedMs ?? 0, error.retryAfterMs);
            deferred.push(userId);
          } else if (error instanceof PermanentDeliveryError) {
            unpublishable.push(userId);
            this.logger.info({ userId, code: error.code }, 'Home tab cannot be published; no longer refreshing it');
          } else {
            failed.push(userId);
            this.logger.warn({ err: error, userId, attempt: attempts }, 'Home tab publish failed; will retry');
          }
        }
      }
    };
    await Promise.all(Array.from({ length: PUBLISH_CONCURRENCY }, publishNext));
    await forgetHomeTabViewers(this.db, unpublishable);

    const leftovers: Leftover[] = [];
    if (deferred.length > 0) leftovers.push({ userIds: deferred, delayMs: rateLimitedMs ?? 0, attempts: 0 });
    if (failed.length > 0) {
      if (attempts >= MAX_ATTEMPTS) {
        this.metrics?.outboxDeliveries.inc({ kind: 'home_refresh', outcome: 'failed' }, failed.length);
        this.logger.error({ userIds: failed, attempts }, 'gave up refreshing these Home tabs; they are rebuilt when opened');
      } else {
        this.metrics?.outboxDeliveries.inc({ kind: 'home_refresh', outcome: 'retry' }, failed.length);
        leftovers.push({ userIds: failed, delayMs: FIRST_RETRY_DELAY_MS * 2 ** (attempts - 1), attempts });
      }
    }
    return leftovers;
  }

  /** Returns 0 when the pace allows a publish now, or how long until it does, without using it. */
  private async paceWaitMs(): Promise<number> {
    const state = await this.publishPace.get(PACE_KEY);
    return state !== null && state.remainingPoints <= 0 ? Math.max(1, state.msBeforeNext) : 0;
  }

  /** Returns 0 when a publish may go now, or how long to wait for the pace to allow one. */
  private async takePublishSlot(): Promise<number> {
    try {
      await this.publishPace.consume(PACE_KEY);
      return 0;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, rejection.msBeforeNext);
      throw rejection;
    }
  }

  /** Marks the pass's rows delivered and queues what it left, in one transaction. */
  private async finish(rowIds: number[], leftovers: Leftover[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const leftover of leftovers) {
        const payload = JSON.stringify({ userIds: leftover.userIds, administrators: false });
        await tx.execute(sql`
          insert into outbox (kind, payload, attempts, available_at)
          values ('home_refresh', ${payload}::jsonb, ${leftover.attempts},
            now() + make_interval(secs => ${leftover.delayMs / 1000}))`);
      }
      await tx.execute(sql`
        update outbox set delivered_at = now(), locked_until = null
        where id = any(${sql.param(rowIds)}::bigint[])`);
    });
  }

  private async release(rowIds: number[], attempts: number): Promise<void> {
    const delayMs = FIRST_RETRY_DELAY_MS * 2 ** Math.min(attempts - 1, 8);
    await this.db.execute(sql`
      update outbox set locked_until = null, available_at = now() + make_interval(secs => ${delayMs / 1000})
      where id = any(${sql.param(rowIds)}::bigint[])`);
  }

  private async sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeSleeper = undefined;
  }
}
