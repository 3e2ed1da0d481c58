import { asc, gt } from 'drizzle-orm';
import { auditEvents } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';
import { GENESIS_HASH, hashAuditRecord } from './audit.js';

// Events read per round trip while walking the chain.
const VERIFY_BATCH_SIZE = 1_000;

/** An event's place in the chain, as an operator records it to check the chain against later. */
export interface AuditHead {
  id: number;
  hash: string;
}

/** Reason a chain failed verification. */
export type AuditChainProblem =
  /** The event does not link to the one before it: an event was deleted, inserted or reordered. */
  | 'prev_hash_mismatch'
  /** The event's fields do not match its hash: the event was edited. */
  | 'hash_mismatch'
  /** The recorded event is gone: the newest events were deleted. */
  | 'recorded_head_missing'
  /** The recorded event has another hash now: the chain up to it was rewritten. */
  | 'recorded_head_mismatch';

/** Result of walking the audit chain: how many events matched, and the first that did not. */
export type AuditChainCheck =
  | { ok: true; events: number; head: (AuditHead & { occurredAt: Date }) | undefined }
  | { ok: false; events: number; brokenAtId: number; reason: AuditChainProblem };

/**
 * Recomputes every event's hash from its fields and the previous hash, in id order. An edited,
 * deleted or inserted row breaks the chain at that row. Deleting the newest events leaves a
 * shorter chain that still verifies, and so does a chain recomputed by someone who can write to
 * the table. `recorded`, an event's id and hash noted earlier outside the database, catches both.
 */
export async function verifyAuditChain(db: Executor, recorded?: AuditHead): Promise<AuditChainCheck> {
  let previousHash = GENESIS_HASH;
  let lastId = 0;
  let events = 0;
  let head: (AuditHead & { occurredAt: Date }) | undefined;
  let recordedSeen = false;
  for (;;) {
    const batch = await db
      .select()
      .from(auditEvents)
      .where(gt(auditEvents.id, lastId))
      .orderBy(asc(auditEvents.id))
      .limit(VERIFY_BATCH_SIZE);
    if (batch.length === 0) break;
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
      if (recorded !== undefined && event.id === recorded.id) {
        if (event.hash !== recorded.hash) return { ok: false, events, brokenAtId: event.id, reason: 'recorded_head_mismatch' };
        recordedSeen = true;
      }
      previousHash = event.hash;
      lastId = event.id;
      events += 1;
      head = { id: event.id, hash: event.hash, occurredAt: event.occurredAt };
    }
  }
  if (recorded !== undefined && !recordedSeen) {
    return { ok: false, events, brokenAtId: recorded.id, reason: 'recorded_head_missing' };
  }
  return { ok: true, events, head };
}
