import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { EXPIRY_BATCH_SIZE, expireDueActivations } from '../services/activation-ending.js';
import type { ActivationRow } from '../services/activation-records.js';
import { listActiveActivations } from '../services/activations.js';
import type { ServiceContext } from '../services/context.js';
import { sendDueReminder } from '../services/approval-reminders.js';
import { findDueRequests, listPendingRequests, timeOutRequest } from '../services/approvals.js';
import {
  expireAssignment,
  findDueAssignments,
  listTimeBoundAssignments,
  sendAssignmentEndNotice,
} from '../services/assignment-ending.js';
import { nextEndNoticeAt } from '../domain/assignment-ending.js';
import {
  addExpiryJob,
  expiryJobFor,
  scheduleAssignmentTimer,
  scheduleRequestTimer,
  type Queues,
} from './queues.js';

// Overdue rows are ended in batches so a long outage does not load them all at once.
const SWEEP_BATCH_SIZE = 200;

/**
 * Ends every active activation whose end time has passed, in batches of one transaction each,
 * and returns how many this call ended. Slot jobs call it when their slot ends. The timekeeper
 * calls it for what no job ended: after a restart, a lost job, a flushed Redis or while Redis is
 * down. It needs only Postgres. `trigger` labels the revoke lag metric.
 */
export async function sweepOverdueActivations(
  context: ServiceContext,
  logger: Logger,
  metrics?: Metrics,
  trigger: 'job' | 'sweep' = 'sweep',
): Promise<number> {
  let ended = 0;
  for (;;) {
    const batch = await expireDueActivations(context, EXPIRY_BATCH_SIZE);
    logEndedBatch(batch, trigger, logger, metrics);
    ended += batch.length;
    // An empty batch means every overdue row left is locked by another transaction, which ends
    // it unless it rolls back. Slot jobs check for such rows again, and the timekeeper's sweep
    // runs every minute.
    if (batch.length === 0) return ended;
  }
}

/**
 * Activations named per log line. A line per activation cost a wave of 10,000 simultaneous ends
 * 0.2 to 0.3 s of its 3.6 s from first end time to last DM. A line of 500 ids would pass 16 KB,
 * and Docker splits longer log lines (https://github.com/moby/moby/issues/32923).
 */
export const ACTIVATIONS_PER_LOG_LINE = 100;

/** Logs the activations an expiry batch ended and records each one's revoke lag. */
export function logEndedBatch(batch: readonly ActivationRow[], trigger: 'job' | 'sweep', logger: Logger, metrics?: Metrics): void {
  const message = trigger === 'job' ? 'activations expired' : 'overdue activations ended';
  for (let start = 0; start < batch.length; start += ACTIVATIONS_PER_LOG_LINE) {
    const slice = batch.slice(start, start + ACTIVATIONS_PER_LOG_LINE);
    let maxLagMs = 0;
    for (const activation of slice) {
      const lagMs = (activation.endedAt?.getTime() ?? 0) - activation.endsAt.getTime();
      metrics?.revokeLag.observe({ trigger }, lagMs / 1000);
      maxLagMs = Math.max(maxLagMs, lagMs);
    }
    logger.info({ activationIds: slice.map((activation) => activation.id), maxLagMs }, message);
  }
}

/**
 * Times out undecided requests and sends due reminders that no job handled. Returns how many
 * timers this call fired.
 */
export async function sweepDueRequests(context: ServiceContext, logger: Logger): Promise<number> {
  let fired = 0;
  for (;;) {
    const due = await findDueRequests(context.db, context.clock.now(), SWEEP_BATCH_SIZE);
    let firedInBatch = 0;
    for (const request of due) {
      const now = context.clock.now().getTime();
      const result =
        request.requestExpiresAt.getTime() <= now
          ? await timeOutRequest(context, request.id)
          : await sendDueReminder(context, request.id);
      if (result.outcome === 'done') {
        firedInBatch += 1;
        logger.info({ activationId: request.id }, 'request timer fired by sweep');
      }
    }
    fired += firedInBatch;
    if (due.length < SWEEP_BATCH_SIZE || firedInBatch === 0) return fired;
  }
}

/**
 * Ends time-bound assignments past their end date and sends due end notices that no job
 * handled. When both are due (a long outage), only the expiry happens: a notice that the
 * assignment is about to end would arrive after it ended. Returns how many timers fired.
 */
export async function sweepDueAssignments(context: ServiceContext, logger: Logger): Promise<number> {
  let fired = 0;
  for (;;) {
    const due = await findDueAssignments(context.db, context.clock.now(), SWEEP_BATCH_SIZE);
    let firedInBatch = 0;
    for (const assignment of due) {
      const result =
        assignment.endsAt.getTime() <= context.clock.now().getTime()
          ? await expireAssignment(context, assignment.id)
          : await sendAssignmentEndNotice(context, assignment.id);
      if (result.outcome === 'done') {
        firedInBatch += 1;
        logger.info({ assignmentId: assignment.id }, 'assignment timer fired by sweep');
      }
    }
    fired += firedInBatch;
    if (due.length < SWEEP_BATCH_SIZE || firedInBatch === 0) return fired;
  }
}

/**
 * Re-creates the expiry job of every active activation, the timers of every pending request
 * and the expiry and next end notice of every time-bound assignment. Job ids derive from row
 * ids and expiry slots, so jobs still in Redis stay as they are and only what Redis lost is
 * added. Returns how many rows it checked.
 */
export async function rebuildExpiryJobs(context: ServiceContext, queues: Queues): Promise<number> {
  const active = await listActiveActivations(context.db);
  // Activations that share a slot share its job, so each job is added once. The clock is read
  // for each job, so a long rebuild does not delay the jobs it adds last.
  const addedJobIds = new Set<string>();
  for (const activation of active) {
    const job = expiryJobFor(activation.id, activation.endsAt, context.clock.now());
    if (addedJobIds.has(job.id)) continue;
    addedJobIds.add(job.id);
    await addExpiryJob(queues, job);
  }
  const pending = await listPendingRequests(context.db, Number.MAX_SAFE_INTEGER);
  for (const request of pending) {
    await scheduleRequestTimer(queues, context.clock, {
      activationId: request.id,
      timer: 'timeout',
      at: request.requestExpiresAt.toISOString(),
      sequence: 0,
    });
    if (request.nextReminderAt !== null) {
      await scheduleRequestTimer(queues, context.clock, {
        activationId: request.id,
        timer: 'remind',
        at: request.nextReminderAt.toISOString(),
        sequence: request.remindersSent,
      });
    }
  }
  const timeBound = await listTimeBoundAssignments(context.db);
  for (const assignment of timeBound) {
    if (assignment.endsAt === null) continue;
    const endsAt = assignment.endsAt.toISOString();
    await scheduleAssignmentTimer(queues, context.clock, {
      assignmentId: assignment.id,
      timer: 'expire',
      at: endsAt,
      endsAt,
      sequence: 0,
    });
    const noticeAt = nextEndNoticeAt(assignment.endsAt, assignment.endNoticesSent);
    if (noticeAt !== null) {
      await scheduleAssignmentTimer(queues, context.clock, {
        assignmentId: assignment.id,
        timer: 'notice',
        at: noticeAt.toISOString(),
        endsAt,
        sequence: assignment.endNoticesSent,
      });
    }
  }
  return active.length + pending.length + timeBound.length;
}
