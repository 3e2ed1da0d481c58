import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';
import { desc, sql } from 'drizzle-orm';
import { auditEvents } from '../../db/schema.js';
import type { Transaction } from '../../db/client.js';

/** The `prevHash` of the first event in the chain. */
export const GENESIS_HASH = '0'.repeat(64);

// Transaction-scoped advisory lock that orders appends, so each event links to the one
// committed before it even when many transactions audit at once.
const AUDIT_CHAIN_LOCK_KEY = 7_301_145_002;

/** Actor id recorded for changes the system makes by itself (expiry, bootstrap). */
export const SYSTEM_ACTOR = 'system';

/** One audit event as services describe it. */
export interface AuditInput {
  occurredAt: Date;
  actorId: string;
  action: string;
  targetType: 'activation' | 'assignment' | 'role' | 'installation' | 'user';
  targetId: string;
  roleId?: string | null;
  subjectUserId?: string | null;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
}

/**
 * Appends events to the hash chain in the given order inside the caller's transaction, taking
 * the chain lock and reading the last hash once for the whole batch. Call it last in the
 * transaction, like `appendAudit`.
 */
export async function appendAuditBatch(tx: Transaction, inputs: readonly AuditInput[]): Promise<void> {
  if (inputs.length === 0) return;
  let prevHash = await lockChainAndReadLastHash(tx);
  const rows: (ReturnType<typeof toRecord> & { prevHash: string; hash: string })[] = [];
  for (const input of inputs) {
    const record = toRecord(input);
    const hash = hashAuditRecord(prevHash, record);
    rows.push({ ...record, prevHash, hash });
    prevHash = hash;
  }
  // One JSON parameter replaces twelve parameters per row, which drizzle and the driver would
  // each process one by one. A JSON null becomes SQL NULL, as drizzle writes it.
  // The INSERT takes its sequence values in `ordinality` order, so ids follow the chain.
  await tx.execute(sql`
    insert into ${auditEvents}
      (occurred_at, actor_id, action, target_type, target_id, role_id, subject_user_id, reason, before, after, prev_hash, hash)
    select r."occurredAt", r."actorId", r.action, r."targetType", r."targetId", r."roleId", r."subjectUserId",
      r.reason, r.before, r.after, r."prevHash", r.hash
    from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as (
      "occurredAt" timestamptz, "actorId" text, action text, "targetType" text, "targetId" text, "roleId" uuid,
      "subjectUserId" text, reason text, before jsonb, after jsonb, "prevHash" text, hash text
    )) with ordinality as r
    order by r.ordinality`);
}

/**
 * Appends an event to the hash chain inside the caller's transaction. Call it last in the
 * transaction: the chain lock is held until commit, and every auditing transaction waits for it.
 *
 * The lock and the INSERT go out together, in one round trip once the connection has prepared
 * both. The INSERT starts after the lock is granted, so in READ COMMITTED it reads the hash that
 * the previous lock holder committed, and it hashes as {@link hashAuditRecord} does.
 */
export async function appendAudit(tx: Transaction, input: AuditInput): Promise<void> {
  const record = toRecord(input);
  await Promise.all([
    tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_KEY})`),
    tx.execute(sql`
      with last as (
        select coalesce((select hash from ${auditEvents} order by id desc limit 1), ${GENESIS_HASH}) as hash)
      insert into ${auditEvents}
        (occurred_at, actor_id, action, target_type, target_id, role_id, subject_user_id, reason, before, after, prev_hash, hash)
      select r."occurredAt", r."actorId", r.action, r."targetType", r."targetId", r."roleId", r."subjectUserId",
        r.reason, r.before, r.after, last.hash,
        encode(sha256(convert_to(last.hash || chr(10) || ${canonicalize(record)}, 'UTF8')), 'hex')
      from last, jsonb_to_record(${JSON.stringify(record)}::jsonb) as r(
        "occurredAt" timestamptz, "actorId" text, action text, "targetType" text, "targetId" text, "roleId" uuid,
        "subjectUserId" text, reason text, before jsonb, after jsonb
      )`),
  ]);
}

/**
 * Takes the chain lock until the transaction ends and returns the hash of the last event. Both
 * statements go out in one round trip, and the SELECT reads the last hash after the lock is
 * granted, as the INSERT of {@link appendAudit} does.
 */
async function lockChainAndReadLastHash(tx: Transaction): Promise<string> {
  const [, [last]] = await Promise.all([
    tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_KEY})`),
    tx.select({ hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.id)).limit(1),
  ]);
  return last?.hash ?? GENESIS_HASH;
}

/** Computes an event's hash from the previous hash and the event's RFC 8785 canonical JSON. */
export function hashAuditRecord(prevHash: string, record: Record<string, unknown>): string {
  return createHash('sha256')
    .update(prevHash)
    .update('\n')
    .update(canonicalize(record))
    .digest('hex');
}

// A lone UTF-16 surrogate has no UTF-8 form. Sent to Postgres it becomes U+FFFD in text and is
// rejected inside JSON, so every string is made well-formed first and stored and hashed text agree.
function toRecord(input: AuditInput) {
  return {
    occurredAt: input.occurredAt.toISOString(),
    actorId: input.actorId.toWellFormed(),
    action: input.action,
    targetType: input.targetType,
    targetId: input.targetId.toWellFormed(),
    roleId: input.roleId ?? null,
    subjectUserId: input.subjectUserId?.toWellFormed() ?? null,
    reason: input.reason?.toWellFormed() ?? null,
    before: wellFormedJson(input.before ?? null),
    after: wellFormedJson(input.after ?? null),
  };
}

/** Returns `value` with every string in it, keys included, made well-formed; other values stay. */
function wellFormedJson(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed();
  if (Array.isArray(value)) return value.map(wellFormedJson);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key.toWellFormed(), wellFormedJson(item)]));
  }
  return value;
}
