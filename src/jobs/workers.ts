import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { runWithLogFields } from '../request-context.js';
import { expireActivation, hasOverdueActivations } from '../services/activation-ending.js';
import type { ServiceContext } from '../services/context.js';
import { sendDueReminder } from '../services/approval-reminders.js';
import { timeOutRequest } from '../services/approvals.js';
import { expireAssignment, sendAssignmentEndNotice } from '../services/assignment-ending.js';
import {
  ASSIGNMENT_QUEUE,
  EXPIRY_QUEUE,
  REQUEST_QUEUE,
  type AssignmentTimerData,
  type ExpiryJobData,
  type RequestTimerData,
} from './queues.js';
import { sweepOverdueActivations } from './sweep.js';

// Timer jobs mostly wait on Postgres, so several can run at once per process.
const TIMER_CONCURRENCY = 20;
/**
 * Expiry jobs that run at once per process. Each uses a pooled Postgres connection while its
 * batch runs, so eight leave two of the ten pooled connections to requests and deliveries. In
 * live waves of 10,000 ends, eight gave a lower revoke lag than four.
 */
const EXPIRY_CONCURRENCY = 8;
/** Delay before a slot's job looks again at overdue rows that another transaction had locked. */
const LOCKED_ROWS_RECHECK_MS = 500;

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
  metrics?: Metrics,
): Workers {
  const options = { connection, prefix, concurrency: TIMER_CONCURRENCY };
  const expiry = new Worker<ExpiryJobData>(
    EXPIRY_QUEUE,
    async (job, token) =>
      runWithLogFields({ jobId: job.id ?? '', queue: EXPIRY_QUEUE, ...job.data }, () =>
        processExpiry(job, token, context, logger, metrics),
      ),
    { ...options, concurrency: EXPIRY_CONCURRENCY },
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
  logger: Logger,
  metrics: Metrics | undefined,
): Promise<string> {
  const log = logger.child({ jobId: job.id, ...job.data });
  if ('dueBy' in job.data) {
    // A slot's job ends every overdue activation, not only its slot's, so the job of a later
    // slot may find its rows already ended.
    const ended = await sweepOverdueActivations(context, log, metrics, 'job');
    const now = context.clock.now();
    const waitMs = new Date(job.data.dueBy).getTime() - now.getTime();
    if (waitMs > 0) {
      // The job ran before its slot ended, because the scheduling host's clock is ahead of this
      // one's or someone promoted it. The slot's later rows were not due, so it waits for them.
      log.info({ waitMs, ended }, 'expiry job ran before its slot ended; delayed until then');
      await job.moveToDelayed(Date.now() + waitMs, token);
      throw new DelayedError();
    }
    // The sweep skips rows that another transaction has locked. That transaction may roll back (a
    // crashed batch, a failed deactivation), so the job looks again until no overdue row is left.
    if (await hasOverdueActivations(context.db, now)) {
      log.debug({ ended }, 'overdue activations held by another transaction; checking again shortly');
      await job.moveToDelayed(Date.now() + LOCKED_ROWS_RECHECK_MS, token);
      throw new DelayedError();
    }
    return ended > 0 ? 'ended' : 'already_ended';
  }
  const result = await expireActivation(context, job.data.activationId);
  if (result.outcome === 'not_due') {
    // The job ran before the end time (clock skew between hosts, or a manual promotion): put it
    // back until then instead of ending access early.
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
  if (result.outcome === 'retry_later') {
    // The service logged why. The sweep also retries a due reminder each minute.
    await job.moveToDelayed(Date.now() + Math.max(result.retryAt.getTime() - context.clock.now().getTime(), 0), token);
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
