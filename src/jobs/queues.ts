import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';

/** Queue of delayed jobs that end activations at their end time. */
export const EXPIRY_QUEUE = 'activation-expiry';
/** Queue of delayed jobs that remind approvers and time out undecided requests. */
export const REQUEST_QUEUE = 'request-timers';
/** Queue of delayed jobs that send assignments' end notices and end time-bound assignments. */
export const ASSIGNMENT_QUEUE = 'assignment-timers';

/** Data of an expiry job. */
export interface ExpiryJobData {
  activationId: string;
}

/** Data of a request timer job. */
export interface RequestTimerData {
  activationId: string;
  timer: 'remind' | 'timeout';
}

/** Data of an assignment timer job; `endsAt` is the end date it was scheduled for. */
export interface AssignmentTimerData {
  assignmentId: string;
  timer: 'notice' | 'expire';
  endsAt: string;
}

/** The queues of one process, sharing one Redis connection. */
export interface Queues {
  expiry: Queue<ExpiryJobData>;
  requests: Queue<RequestTimerData>;
  assignments: Queue<AssignmentTimerData>;
  close(): Promise<void>;
}

/**
 * Opens the queues under `prefix`, so tests and sandboxes never share keys with a live app.
 * `connection` should fail fast while Redis is away: a queue write is retried by its caller
 * (the outbox, the rebuild) rather than left hanging.
 */
export function createQueues(connection: Redis, prefix: string): Queues {
  const expiry = new Queue<ExpiryJobData>(EXPIRY_QUEUE, { connection, prefix });
  const requests = new Queue<RequestTimerData>(REQUEST_QUEUE, { connection, prefix });
  const assignments = new Queue<AssignmentTimerData>(ASSIGNMENT_QUEUE, { connection, prefix });
  return {
    expiry,
    requests,
    assignments,
    close: async () => {
      await Promise.all([expiry.close(), requests.close(), assignments.close()]);
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

/**
 * Schedules a request's timeout or its reminder number `sequence`. The job id names both, so
 * each reminder has its own job and scheduling one twice keeps a single job.
 */
export async function scheduleRequestTimer(
  queues: Queues,
  clock: Clock,
  timer: { activationId: string; timer: 'remind' | 'timeout'; at: string; sequence: number },
): Promise<void> {
  const jobId = timer.timer === 'timeout' ? `timeout-${timer.activationId}` : `remind-${timer.activationId}-${timer.sequence}`;
  await queues.requests.add(
    timer.timer,
    { activationId: timer.activationId, timer: timer.timer },
    {
      jobId,
      delay: Math.max(0, new Date(timer.at).getTime() - clock.now().getTime()),
      attempts: 20,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}

/**
 * Schedules an assignment's expiry or end notice number `sequence`. The job id names the end
 * date it was scheduled for, so a changed end date gets new jobs and the old ones drop
 * themselves when they find the assignment's end moved.
 */
export async function scheduleAssignmentTimer(
  queues: Queues,
  clock: Clock,
  timer: { assignmentId: string; timer: 'notice' | 'expire'; at: string; endsAt: string; sequence: number },
): Promise<void> {
  const endsAtMs = new Date(timer.endsAt).getTime();
  const jobId =
    timer.timer === 'expire'
      ? `assignment-expire-${timer.assignmentId}-${endsAtMs}`
      : `assignment-notice-${timer.assignmentId}-${endsAtMs}-${timer.sequence}`;
  await queues.assignments.add(
    timer.timer,
    { assignmentId: timer.assignmentId, timer: timer.timer, endsAt: timer.endsAt },
    {
      jobId,
      delay: Math.max(0, new Date(timer.at).getTime() - clock.now().getTime()),
      attempts: 20,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}
