import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { and, desc, eq, lt } from 'drizzle-orm';
import { auditEvents } from '../../db/schema.js';
import type postgres from 'postgres';
import type { Executor } from '../../db/client.js';

/** Maximum number of events in one page of `listUserAuditEvents`. */
export const MAX_AUDIT_PAGE_SIZE = 200;

// Rows fetched per cursor round trip while exporting. Memory use is about one batch plus the
// CSV stream's buffer, whatever the size of the export.
const EXPORT_BATCH_ROWS = 500;

/** Column names of the CSV export, in order. The hash-chain columns come last. */
export const AUDIT_CSV_COLUMNS = [
  'id',
  'occurred_at',
  'actor_id',
  'action',
  'target_type',
  'target_id',
  'role_id',
  'subject_user_id',
  'reason',
  'before',
  'after',
  'prev_hash',
  'hash',
] as const;

/** One audit event as stored, with its place in the hash chain. */
export type AuditEventRecord = typeof auditEvents.$inferSelect;

/** One page of a user's events, newest first. */
export interface AuditPage {
  events: AuditEventRecord[];
  /** Id to pass as `beforeId` for the next, older page, or `undefined` on the last page. */
  nextCursor: number | undefined;
}

/** A page request for one user's events. */
export interface UserAuditQuery {
  subjectUserId: string;
  /** Page size, 1 to `MAX_AUDIT_PAGE_SIZE`. */
  limit: number;
  /** Only events with a smaller id: the `nextCursor` of the previous page. */
  beforeId?: number | undefined;
}

/** Filter of an export. Every bound is optional; `since` is inclusive and `until` exclusive. */
export interface AuditExportFilter {
  subjectUserId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

/**
 * Lists the latest events about one user, newest first, with keyset pagination on the event
 * id. The `(subject_user_id, id)` index serves each page with one backward index scan, so a
 * page costs the same however many events the table holds.
 */
export async function listUserAuditEvents(db: Executor, query: UserAuditQuery): Promise<AuditPage> {
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_AUDIT_PAGE_SIZE) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_AUDIT_PAGE_SIZE}, got ${query.limit}`);
  }
  const conditions = [eq(auditEvents.subjectUserId, query.subjectUserId)];
  if (query.beforeId !== undefined) conditions.push(lt(auditEvents.id, query.beforeId));
  // Fetching one extra row shows whether an older page exists without a second query.
  const rows = await db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.id))
    .limit(query.limit + 1);
  const events = rows.slice(0, query.limit);
  const last = events[events.length - 1];
  return { events, nextCursor: rows.length > query.limit && last !== undefined ? last.id : undefined };
}

/**
 * Writes matching events to `output` as RFC 4180 CSV (header line, CRLF line ends, fields with
 * commas, quotes or line breaks quoted), oldest first. Rows are read with a server-side cursor
 * and written with backpressure, so memory stays flat for any number of events. `before` and
 * `after` are written as JSON text. Takes the raw postgres.js client because drizzle has no
 * cursors. Resolves when `output` has finished.
 */
export async function exportAuditCsv(sql: postgres.Sql, filter: AuditExportFilter, output: Writable): Promise<void> {
  const csv = stringify({
    header: true,
    columns: [...AUDIT_CSV_COLUMNS],
    record_delimiter: 'windows',
  });
  await pipeline(Readable.from(readCsvRecords(sql, filter)), csv, output);
}

async function* readCsvRecords(sql: postgres.Sql, filter: AuditExportFilter): AsyncGenerator<Record<string, unknown>> {
  const subject = filter.subjectUserId ?? null;
  const since = filter.since?.toISOString() ?? null;
  const until = filter.until?.toISOString() ?? null;
  // drizzle replaces the client's timestamp parser with one that returns Postgres text, so the
  // query formats timestamps as ISO 8601 itself.
  const cursor = sql`
    select id,
      to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at, actor_id, action, target_type, target_id, role_id, subject_user_id,
      reason, before::text as before, after::text as after, prev_hash, hash
    from audit_events
    where (${subject}::text is null or subject_user_id = ${subject}::text)
      and (${since}::timestamptz is null or occurred_at >= ${since}::timestamptz)
      and (${until}::timestamptz is null or occurred_at < ${until}::timestamptz)
    order by id`.cursor(EXPORT_BATCH_ROWS);
  for await (const rows of cursor) {
    for (const row of rows) yield row;
  }
}
