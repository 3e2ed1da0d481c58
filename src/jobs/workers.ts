import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { EXPIRY_BATCH_SIZE, expireActivation, expireDueActivations } from '../services/activation-ending.js';
import type { ServiceContext } from '../services/context.js';
import { sendDueReminder, timeOutRequest } from '../services/approvals.js';
import { expireAssignment, sendAssignmentEndNotice } from '../services/assignment-ending.js';
import {
  ASSIGNMENT_QUEUE,
  EXPIRY_QUEUE,
  MAINTENANCE_QUEUE,
  REQUEST_QUEUE,
  type AssignmentTimerData,
  type ExpiryJobData,
  type RequestTimerData,
} from './queues.js';
import { sweepDueAssignments, sweepDueRequests, sweepOverdueActivations } from './sweep.js';

// Expiry jobs mostly wait on Postgres, so several can run at once per process.
const EXPIRY_CONCURRENCY = 20;

/** The BullMQ workers of one process. */
export interface Workers {
  close(): Promise<void>;
}

/** Starts the expiry and maintenance workers. */
export function startWorkers(
  connection: Redis,
  prefix: string,
  context: ServiceContext,
  logger: Logger,
): Workers {
  const expiry = new Worker<ExpiryJobData>(
    EXPIRY_QUEUE,
    async (job, token) => processExpiry(job, token, context, logger),
    { connection, prefix, concurrency: EXPIRY_CONCURRENCY },
  );
  const requests = new Worker<RequestTimerData>(
    REQUEST_QUEUE,
    async (job, token) => processRequestTimer(job, token, context, logger),
    { connection, prefix, concurrency: EXPIRY_CONCURRENCY },
  );
  const assignmentTimers = new Worker<AssignmentTimerData>(
    ASSIGNMENT_QUEUE,
    async (job, token) => processAssignmentTimer(job, token, context, logger),
    { connection, prefix, concurrency: EXPIRY_CONCURRENCY },
  );
  const maintenance = new Worker(
    MAINTENANCE_QUEUE,
    async (job) => {
      const log = logger.child({ jobId: job.id });
      const ended = await sweepOverdueActivations(context, log);
      const requestTimers = await sweepDueRequests(context, log);
      const assignmentTimers = await sweepDueAssignments(context, log);
      return { ended, requestTimers, assignmentTimers };
    },
    { connection, prefix, concurrency: 1 },
  );
  for (const worker of [expiry, requests, assignmentTimers, maintenance]) {
    worker.on('failed', (job, error) => {
      logger.error({ err: error, jobId: job?.id, queue: worker.name, attempts: job?.attemptsMade }, 'job failed');
    });
    worker.on('error', (error) => {
      logger.error({ err: error, queue: worker.name }, 'worker error');
    });
  }
  return {
    close: async () => {
      await Promise.all([expiry.close(), requests.close(), assignmentTimers.close(), maintenance.close()]);
    },
  };
}

async function processExpiry(
  job: Job<ExpiryJobData>,
  token: string | undefined,
  context: ServiceContext,
  logger: Logger,
): Promise<string> {
  const log = logger.child({ jobId: job.id, activationId: job.data.activationId });
  // End every overdue activation in one batch, not just this job's: when many end at once, the
  // first jobs drain the burst and the rest find their activation already ended.
  for (const ended of await expireDueActivations(context, EXPIRY_BATCH_SIZE)) {
    log.info({ endedActivationId: ended.id, lagMs: (ended.endedAt?.getTime() ?? 0) - ended.endsAt.getTime() }, 'activation expired');
  }
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
    log.info({ lagMs: context.clock.now().getTime() - result.activation.endsAt.getTime() }, 'activation expired');
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
