import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { runWithLogFields } from '../request-context.js';
import { expireActivation } from '../services/activation-ending.js';
import type { ServiceContext } from '../services/context.js';
import { EXPIRY_QUEUE, type ExpiryJobData } from './queues.js';

// Expiry jobs mostly wait on Postgres, so several can run at once per process.
const EXPIRY_CONCURRENCY = 20;

/** The BullMQ workers of one process. */
export interface Workers {
  /** Stops taking jobs and waits for the active ones; `force` abandons them (BullMQ retries them elsewhere). */
  close(force?: boolean): Promise<void>;
}

/** Starts the expiry worker. `connection` must allow unlimited retries per request (BullMQ blocks on it). */
export function startWorkers(
  connection: Redis,
  prefix: string,
  context: ServiceContext,
  logger: Logger,
  metrics?: Metrics,
): Workers {
  const expiry = new Worker<ExpiryJobData>(
    EXPIRY_QUEUE,
    async (job, token) =>
      runWithLogFields({ jobId: job.id ?? '', queue: EXPIRY_QUEUE, activationId: job.data.activationId }, () =>
        processExpiry(job, token, context, logger, metrics),
      ),
    { connection, prefix, concurrency: EXPIRY_CONCURRENCY },
  );
  let workerErrors = 0;
  expiry.on('failed', (job, error) => {
    metrics?.jobFailures.inc({ queue: EXPIRY_QUEUE });
    logger.error(
      { err: error, jobId: job?.id, queue: EXPIRY_QUEUE, activationId: job?.data.activationId, attempts: job?.attemptsMade },
      'job failed',
    );
  });
  expiry.on('error', (error) => {
    // Repeats every reconnect attempt while Redis is down; the connection logs the outage itself.
    workerErrors += 1;
    if (workerErrors === 1) logger.error({ err: error, queue: EXPIRY_QUEUE }, 'worker error');
  });
  expiry.on('ready', () => {
    workerErrors = 0;
  });
  return {
    close: async (force = false) => {
      await expiry.close(force);
    },
  };
}

async function processExpiry(
  job: Job<ExpiryJobData>,
  token: string | undefined,
  context: ServiceContext,
  logger: Logger,
  metrics: Metrics | undefined,
): Promise<string> {
  const log = logger.child({ jobId: job.id, activationId: job.data.activationId });
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
