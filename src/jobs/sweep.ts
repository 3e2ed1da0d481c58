import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { expireActivation } from '../services/activation-ending.js';
import { findOverdueActivations, listActiveActivations } from '../services/activations.js';
import type { ServiceContext } from '../services/context.js';
import { scheduleExpiry, type Queues } from './queues.js';

// Overdue rows are ended in batches so a long outage does not load them all at once.
const SWEEP_BATCH_SIZE = 200;

/**
 * Ends every active activation whose end time has passed and that no expiry job ended: after a
 * restart, a lost job, a flushed Redis or while Redis is down. Needs only Postgres. Returns how
 * many this call ended.
 */
export async function sweepOverdueActivations(
  context: ServiceContext,
  logger: Logger,
  metrics?: Metrics,
): Promise<number> {
  let ended = 0;
  for (;;) {
    const overdue = await findOverdueActivations(context.db, context.clock.now(), SWEEP_BATCH_SIZE);
    let endedInBatch = 0;
    for (const activation of overdue) {
      const result = await expireActivation(context, activation.id);
      if (result.outcome === 'ended') {
        endedInBatch += 1;
        const lagMs = context.clock.now().getTime() - activation.endsAt.getTime();
        metrics?.revokeLag.observe({ trigger: 'sweep' }, lagMs / 1000);
        logger.info({ activationId: activation.id, lagMs }, 'overdue activation ended by sweep');
      }
    }
    ended += endedInBatch;
    // Rows another process ended meanwhile drop out of the next query, so a batch that ended
    // nothing new and was not full means the backlog is gone.
    if (overdue.length < SWEEP_BATCH_SIZE || endedInBatch === 0) return ended;
  }
}

/**
 * Re-creates the expiry job of every active activation. Job ids derive from activation ids,
 * so jobs still in Redis are kept as they are; this only fills in what Redis lost.
 */
export async function rebuildExpiryJobs(context: ServiceContext, queues: Queues): Promise<number> {
  const active = await listActiveActivations(context.db);
  for (const activation of active) {
    await scheduleExpiry(queues, context.clock, activation.id, activation.endsAt);
  }
  return active.length;
}
