import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';

/** Queue of delayed jobs that end activations at their end time. */
export const EXPIRY_QUEUE = 'activation-expiry';

/** Data of an expiry job. */
export interface ExpiryJobData {
  activationId: string;
}

/** The queues of one process, sharing one Redis connection. */
export interface Queues {
  expiry: Queue<ExpiryJobData>;
  close(): Promise<void>;
}

/**
 * Opens the queues under `prefix`, so tests and sandboxes never share keys with a live app.
 * `connection` should fail fast while Redis is away: a queue write is retried by its caller
 * (the outbox, the rebuild) rather than left hanging.
 */
export function createQueues(connection: Redis, prefix: string): Queues {
  const expiry = new Queue<ExpiryJobData>(EXPIRY_QUEUE, { connection, prefix });
  return {
    expiry,
    close: async () => {
      await expiry.close();
    },
  };
}

/**
 * Job id of an activation's expiry. Derived from the activation id, so scheduling twice (a
 * retried outbox delivery, a rebuild at start-up) keeps one job, and every activation has its own.
 */
export function expiryJobId(activationId: string): string {
  return `expire-${activationId}`;
}

/** Schedules the expiry job of an activation for its end time; a no-op when the job exists. */
export async function scheduleExpiry(queues: Queues, clock: Clock, activationId: string, endsAt: Date): Promise<void> {
  await queues.expiry.add(
    'expire',
    { activationId },
    {
      jobId: expiryJobId(activationId),
      delay: Math.max(0, endsAt.getTime() - clock.now().getTime()),
      attempts: 20,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}
