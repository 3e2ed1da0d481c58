import { asc, gt } from 'drizzle-orm';
import { auditEvents } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';
import { GENESIS_HASH, hashAuditRecord } from './audit.js';

// Events read per round trip while walking the chain.
const VERIFY_BATCH_SIZE = 1_000;

/** Result of walking the audit chain: how many events matched, and the first that did not. */
export type AuditChainCheck =
  | { ok: true; events: number }
  | { ok: false; events: number; brokenAtId: number; reason: 'prev_hash_mismatch' | 'hash_mismatch' };

/**
 * Recomputes every event's hash from its fields and the previous hash, in id order. An edited,
 * deleted or inserted row breaks the chain at that row.
 */
export async function verifyAuditChain(db: Executor): Promise<AuditChainCheck> {
  let previousHash = GENESIS_HASH;
  let lastId = 0;
  let events = 0;
  for (;;) {
    const batch = await db
      .select()
      .from(auditEvents)
      .where(gt(auditEvents.id, lastId))
      .orderBy(asc(auditEvents.id))
      .limit(VERIFY_BATCH_SIZE);
    if (batch.length === 0) return { ok: true, events };
    for (const event of batch) {
      if (event.prevHash !== previousHash) {
        return { ok: false, events, brokenAtId: event.id, reason: 'prev_hash_mismatch' };
      }
      const expected = hashAuditRecord(previousHash, {
        occurredAt: event.occurredAt.toISOString(),
        actorId: event.actorId,
        action: event.action,
        targetType: event.targetType,
        targetId: event.targetId,
        roleId: event.roleId,
        subjectUserId: event.subjectUserId,
        reason: event.reason,
        before: event.before,
        after: event.after,
      });
      if (expected !== event.hash) return { ok: false, events, brokenAtId: event.id, reason: 'hash_mismatch' };
      previousHash = event.hash;
      lastId = event.id;
      events += 1;
    }
  }
}
