import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { runWithLogFields } from '../request-context.js';
import { EXPIRY_BATCH_SIZE, expireActivation, readActivationState } from '../services/activation-ending.js';
import type { ExpiryBatches } from './expiry-batches.js';
import type { ServiceContext } from '../services/context.js';
import { sendDueReminder, timeOutRequest } from '../services/approvals.js';
import { expireAssignment, sendAssignmentEndNotice } from '../services/assignment-ending.js';
import {
  ASSIGNMENT_QUEUE,
  EXPIRY_QUEUE,
  REQUEST_QUEUE,
  type AssignmentTimerData,
  type ExpiryJobData,
  type RequestTimerData,
} from './queues.js';

// Timer jobs mostly wait on Postgres, so several can run at once per process.
const TIMER_CONCURRENCY = 20;
/** Shared batches an expiry job waits for while they come back full, before ending its own row alone. */
const MAX_SHARED_BATCH_ROUNDS = 25;

/** The BullMQ workers of one process. */
export interface Workers {
  /** Resolves once every worker's Redis connections are ready, so closing them is clean. */
  ready(): Promise<void>;
  /** Closes the workers; `force` abandons jobs in progress instead of waiting for them. */
  close(force?: boolean): Promise<void>;
}

/**
 * Starts the workers of the three timer queues: activation expiry, request reminders and
 * timeouts, and assignment notices and expiry. The periodic sweep runs in the timekeeper.
 */
export function startWorkers(
  connection: Redis,
  prefix: string,
  context: ServiceContext,
  logger: Logger,
  batches: ExpiryBatches,
  metrics?: Metrics,
): Workers {
  const options = { connection, prefix, concurrency: TIMER_CONCURRENCY };
  const expiry = new Worker<ExpiryJobData>(
    EXPIRY_QUEUE,
    async (job, token) =>
      runWithLogFields({ jobId: job.id ?? '', queue: EXPIRY_QUEUE, activationId: job.data.activationId }, () =>
        processExpiry(job, token, context, batches, logger, metrics),
      ),
    options,
  );
  const requests = new Worker<RequestTimerData>(
    REQUEST_QUEUE,
    async (job, token) =>
      runWithLogFields({ jobId: job.id ?? '', queue: REQUEST_QUEUE, activationId: job.data.activationId }, () =>
        processRequestTimer(job, token, context, logger),
      ),
    options,
  );
  const assignmentTimers = new Worker<AssignmentTimerData>(
    ASSIGNMENT_QUEUE,
    async (job, token) =>
      runWithLogFields({ jobId: job.id ?? '', queue: ASSIGNMENT_QUEUE, assignmentId: job.data.assignmentId }, () =>
        processAssignmentTimer(job, token, context, logger),
      ),
    options,
  );
  const workers = [expiry, requests, assignmentTimers];
  for (const worker of workers) watchWorker(worker, logger, metrics);
  return {
    ready: async () => {
      await Promise.all(workers.map((worker) => worker.waitUntilReady()));
    },
    close: async (force = false) => {
      await Promise.all(workers.map((worker) => worker.close(force)));
    },
  };
}

function watchWorker(worker: Worker, logger: Logger, metrics: Metrics | undefined): void {
  let workerErrors = 0;
  worker.on('failed', (job, error) => {
    metrics?.jobFailures.inc({ queue: worker.name });
    logger.error({ err: error, jobId: job?.id, queue: worker.name, attempts: job?.attemptsMade }, 'job failed');
  });
  worker.on('error', (error) => {
    // Repeats every reconnect attempt while Redis is down; the connection logs the outage itself.
    workerErrors += 1;
    if (workerErrors === 1) logger.error({ err: error, queue: worker.name }, 'worker error');
  });
  worker.on('ready', () => {
    workerErrors = 0;
  });
}

async function processExpiry(
  job: Job<ExpiryJobData>,
  token: string | undefined,
  context: ServiceContext,
  batches: ExpiryBatches,
  logger: Logger,
  metrics: Metrics | undefined,
): Promise<string> {
  const log = logger.child({ jobId: job.id, activationId: job.data.activationId });
  if (batches.wasSwept(job.data.activationId)) return 'already_ended';
  // End every overdue activation in one batch, not just this job's: when many end at once, the
  // jobs share a few batches and most find their activation ended by one of them. A full batch
  // may have left more due rows, so the job requests another while its own is still active.
  let state: { status: string } | undefined;
  for (let round = 1; ; round++) {
    const batch = await batches.runSince(context.clock.now().getTime());
    if (batch.started) {
      for (const ended of batch.ended) {
        const lagMs = (ended.endedAt?.getTime() ?? 0) - ended.endsAt.getTime();
        metrics?.revokeLag.observe({ trigger: 'job' }, lagMs / 1000);
        log.info({ endedActivationId: ended.id, lagMs }, 'activation expired');
      }
    }
    // Most jobs of a burst find their activation among the rows a batch ended, and skip the read.
    state = batches.hasEnded(job.data.activationId)
      ? { status: 'expired' }
      : await readActivationState(context.db, job.data.activationId);
    const batchWasFull = batch.ended.length >= EXPIRY_BATCH_SIZE;
    if (state?.status !== 'active' || !batchWasFull || round >= MAX_SHARED_BATCH_ROUNDS) break;
  }
  if (state === undefined) return 'not_found';
  if (state.status !== 'active') return 'already_ended';
  const result = await expireActivation(context, job.data.activationId);
  if (result.outcome === 'not_due') {
    // The job ran before the end time (clock skew between hosts, or an activation that was
    // extended): put it back until then instead of ending access early.
    const waitMs = result.endsAt.getTime() - context.clock.now().getTime();
    log.info({ waitMs }, 'expiry job ran early; delayed until the end time');
    await job.moveToDelayed(Date.now() + Math.max(waitMs, 0), token);
    throw new DelayedError();
  }
  if (result.outcome === 'ended') {
    const lagMs = context.clock.now().getTime() - result.activation.endsAt.getTime();
    metrics?.revokeLag.observe({ trigger: 'job' }, lagMs / 1000);
    log.info({ lagMs }, 'activation expired');
  }
  return result.outcome;
}

async function processRequestTimer(
  job: Job<RequestTimerData>,
  token: string | undefined,
  context: ServiceContext,
  logger: Logger,
): Promise<string> {
  const log = logger.child({ jobId: job.id, activationId: job.data.activationId, timer: job.data.timer });
  const result =
    job.data.timer === 'timeout'
      ? await timeOutRequest(context, job.data.activationId)
      : await sendDueReminder(context, job.data.activationId);
  if (result.outcome === 'not_due') {
    const waitMs = result.dueAt.getTime() - context.clock.now().getTime();
    log.info({ waitMs }, 'request timer ran early; delayed until due');
    await job.moveToDelayed(Date.now() + Math.max(waitMs, 0), token);
    throw new DelayedError();
  }
  if (result.outcome === 'done') log.info('request timer fired');
  return result.outcome;
}

async function processAssignmentTimer(
  job: Job<AssignmentTimerData>,
  token: string | undefined,
  context: ServiceContext,
  logger: Logger,
): Promise<string> {
  const log = logger.child({ jobId: job.id, assignmentId: job.data.assignmentId, timer: job.data.timer });
  const result =
    job.data.timer === 'expire'
      ? await expireAssignment(context, job.data.assignmentId)
      : await sendAssignmentEndNotice(context, job.data.assignmentId);
  if (result.outcome === 'not_due') {
    if (result.endsAt?.getTime() !== new Date(job.data.endsAt).getTime()) {
      // The end date changed since this job was scheduled; the change scheduled its own jobs.
      log.info('assignment timer is for an old end date; dropped');
      return 'stale';
    }
    const waitMs = result.dueAt.getTime() - context.clock.now().getTime();
    log.info({ waitMs }, 'assignment timer ran early; delayed until due');
    await job.moveToDelayed(Date.now() + Math.max(waitMs, 0), token);
    throw new DelayedError();
  }
  if (result.outcome === 'done') log.info('assignment timer fired');
  return result.outcome;
}
