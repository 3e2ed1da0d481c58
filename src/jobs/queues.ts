import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';

/** Queue of delayed jobs that end activations at their end time. */
export const EXPIRY_QUEUE = 'activation-expiry';
/** Queue of delayed jobs that remind approvers and time out undecided requests. */
export const REQUEST_QUEUE = 'request-timers';
/** Queue of delayed jobs that send assignments' end notices and end time-bound assignments. */
export const ASSIGNMENT_QUEUE = 'assignment-timers';

/**
 * Data of an expiry job: either a slot's job, which ends every activation due by `dueBy` (an ISO
 * date), or one activation's own job.
 */
export type ExpiryJobData = { dueBy: string } | { activationId: string };

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
 * Width of an expiry slot. Activations whose end times fall in one slot share a job that fires
 * at the slot's end. A burst of simultaneous ends then costs a few jobs, not one per activation.
 */
export const EXPIRY_SLOT_MS = 100;
/**
 * Minimum time between scheduling and a slot's end for an activation to join that slot's job.
 * Adding a job whose id exists changes nothing, so a slot job that already started would miss a
 * late activation. An activation scheduled closer to its end therefore gets a job of its own.
 */
export const EXPIRY_SLOT_MIN_LEAD_MS = 2_000;

/** One expiry job to add: its id, name, data and delay. */
export interface ExpiryJob {
  id: string;
  name: 'expire-due' | 'expire';
  data: ExpiryJobData;
  delay: number;
}

/** Returns the end of the slot that `endsAt` falls in, in milliseconds since the epoch. */
export function expirySlotEnd(endsAt: Date): number {
  return Math.ceil(endsAt.getTime() / EXPIRY_SLOT_MS) * EXPIRY_SLOT_MS;
}

/**
 * Returns the job that ends an activation: its slot's job, or its own when the slot ends within
 * EXPIRY_SLOT_MIN_LEAD_MS of `now`. Ids derive from the slot or the activation, so scheduling
 * twice (a retried outbox delivery, a rebuild at start-up) keeps one job.
 */
export function expiryJobFor(activationId: string, endsAt: Date, now: Date): ExpiryJob {
  const slotEnd = expirySlotEnd(endsAt);
  if (slotEnd - now.getTime() >= EXPIRY_SLOT_MIN_LEAD_MS) {
    return {
      id: slotJobId(slotEnd),
      name: 'expire-due',
      data: { dueBy: new Date(slotEnd).toISOString() },
      delay: slotEnd - now.getTime(),
    };
  }
  return {
    id: ownJobId(activationId),
    name: 'expire',
    data: { activationId },
    delay: Math.max(0, endsAt.getTime() - now.getTime()),
  };
}

/** Returns the ids of the jobs that can end an activation: its slot's and its own. */
export function expiryJobIds(activationId: string, endsAt: Date): [slotJobId: string, ownJobId: string] {
  return [slotJobId(expirySlotEnd(endsAt)), ownJobId(activationId)];
}

function slotJobId(slotEnd: number): string {
  return `expire-by-${slotEnd}`;
}

function ownJobId(activationId: string): string {
  return `expire-${activationId}`;
}

/** Adds one expiry job; a no-op when a job with its id exists. */
export async function addExpiryJob(queues: Queues, job: ExpiryJob): Promise<void> {
  await queues.expiry.add(job.name, job.data, {
    jobId: job.id,
    delay: job.delay,
    attempts: 20,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  });
}

/** Schedules the job that ends an activation at its end time; a no-op when that job exists. */
export async function scheduleExpiry(queues: Queues, clock: Clock, activationId: string, endsAt: Date): Promise<void> {
  await addExpiryJob(queues, expiryJobFor(activationId, endsAt, clock.now()));
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
