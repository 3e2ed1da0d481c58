import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ServiceContext } from '../services/context.js';
import { purgeDeliveredOutbox } from '../services/outbox.js';
import { withTimeout } from '../timeout.js';
import type { Queues } from './queues.js';
import { RepeatedFailureLog } from './repeated-failure-log.js';
import { rebuildExpiryJobs, sweepDueAssignments, sweepDueRequests, sweepOverdueActivations } from './sweep.js';

/**
 * How often the timekeeper looks at Redis. While Redis is down or after it lost its keys,
 * overdue activations are ended at this pace straight from Postgres.
 */
export const REDIS_CHECK_INTERVAL_MS = 5_000;
/**
 * How often the full sweep runs: end overdue activations, fire due request and assignment
 * timers, and re-create missing jobs.
 */
export const SWEEP_INTERVAL_MS = 60_000;
const REDIS_CHECK_TIMEOUT_MS = 2_000;
/** Delivered outbox rows are kept this long for inspection, then deleted. */
const DELIVERED_OUTBOX_RETENTION_MS = 7 * 24 * 3600_000;

/**
 * Keeps expiry on time from Postgres when Redis loses jobs or goes away. Runs in every worker
 * process on a local timer (not a BullMQ scheduler, which a flushed Redis would lose):
 * - every SWEEP_INTERVAL_MS, ends overdue activations, fires due request and assignment timers
 *   and re-creates missing jobs;
 * - every REDIS_CHECK_INTERVAL_MS, checks a marker key written after the last rebuild. A missing
 *   marker means Redis was flushed, restarted without persistence or replaced, so the jobs are
 *   rebuilt at once. While Redis cannot be reached, overdue activations are ended at each check.
 * Everything it calls is idempotent, so any number of worker processes may run it together.
 */
export class Timekeeper {
  private readonly context: ServiceContext;
  private readonly queues: Queues;
  private readonly redis: Redis;
  private readonly markerKey: string;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly failures: RepeatedFailureLog;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastSweepAt = 0;
  private stopped = false;

  constructor(options: {
    context: ServiceContext;
    queues: Queues;
    redis: Redis;
    redisPrefix: string;
    logger: Logger;
    metrics?: Metrics;
  }) {
    this.context = options.context;
    this.queues = options.queues;
    this.redis = options.redis;
    this.markerKey = `${options.redisPrefix}:pim:jobs-rebuilt-at`;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.failures = new RepeatedFailureLog(this.logger, 'timekeeper');
  }

  /**
   * Runs the start-up pass (sweep, rebuild, marker) and starts the timer. Throws when the
   * start-up pass fails, so a worker that cannot reach Postgres or Redis does not start.
   */
  async start(): Promise<void> {
    const swept = await this.sweep();
    if (swept.ended + swept.requestTimers + swept.assignmentTimers > 0) {
      this.logger.info(swept, 'start-up sweep caught up');
    }
    const rebuilt = await rebuildExpiryJobs(this.context, this.queues);
    await this.redis.set(this.markerKey, new Date().toISOString());
    this.logger.info({ timedRows: rebuilt }, 'expiry, request and assignment jobs checked against Postgres');
    this.timer = setInterval(() => this.tick(), REDIS_CHECK_INTERVAL_MS);
    this.timer.unref();
    // Redis coming back may be an empty replacement: check at once instead of at the next tick.
    this.redis.on('ready', this.onRedisReady);
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.redis.off('ready', this.onRedisReady);
    await this.running;
  }

  /** Runs one pass now unless one is running; resolves when that pass ends. */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private readonly onRedisReady = () => {
    void this.tick();
  };

  private async pass(): Promise<void> {
    try {
      const marker = await this.readMarker();
      if (marker === 'unreachable') {
        // Timer jobs cannot fire while Redis is away; Postgres ends what is due meanwhile.
        await this.sweep();
      } else if (marker === 'missing') {
        await this.rebuildAfterDataLoss();
      } else if (Date.now() - this.lastSweepAt >= SWEEP_INTERVAL_MS) {
        await this.sweep();
        await rebuildExpiryJobs(this.context, this.queues);
        await purgeDeliveredOutbox(this.context.db, new Date(Date.now() - DELIVERED_OUTBOX_RETENTION_MS));
      }
      this.failures.recovered();
    } catch (error) {
      this.metrics?.jobFailures.inc({ queue: 'timekeeper' });
      this.failures.failed(error, 'timekeeper pass failed; retrying at the next check');
    }
  }

  private async readMarker(): Promise<'present' | 'missing' | 'unreachable'> {
    try {
      const exists = await withTimeout(this.redis.exists(this.markerKey), REDIS_CHECK_TIMEOUT_MS, 'Redis check');
      return exists === 1 ? 'present' : 'missing';
    } catch {
      return 'unreachable';
    }
  }

  private async rebuildAfterDataLoss(): Promise<void> {
    // SET NX makes one process log the loss. Processes that check later see the marker and skip;
    // if this rebuild is cut short, the full sweep in every worker re-creates what is missing.
    const first = await this.redis.set(this.markerKey, 'rebuilding', 'NX');
    if (first === 'OK') {
      this.logger.warn("Redis lost slack-pim's keys (flushed, restarted without persistence or replaced); rebuilding jobs from Postgres");
    }
    await this.sweep();
    const rebuilt = await rebuildExpiryJobs(this.context, this.queues);
    await this.redis.set(this.markerKey, new Date().toISOString());
    this.logger.info({ timedRows: rebuilt }, 'expiry, request and assignment jobs rebuilt from Postgres');
  }

  private async sweep(): Promise<{ ended: number; requestTimers: number; assignmentTimers: number }> {
    const ended = await sweepOverdueActivations(this.context, this.logger, this.metrics);
    const requestTimers = await sweepDueRequests(this.context, this.logger);
    const assignmentTimers = await sweepDueAssignments(this.context, this.logger);
    this.lastSweepAt = Date.now();
    return { ended, requestTimers, assignmentTimers };
  }
}
