/**
 * Audit benchmarks: the latest events of one user among many, and a CSV export, on a hash chain
 * built as `appendAudit` builds it and loaded with COPY.
 */
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { GENESIS_HASH, hashAuditRecord } from '../../src/services/audit.js';
import { listUserAuditEvents } from '../../src/services/audit-query.js';
import { startChild } from '../support/child.js';
import type { BenchStore } from '../support/database.js';
import type { RunMetrics } from '../support/metrics.js';
import { distribution } from '../support/stats.js';

const AUDIT_USERS = 10_000;
const ACTIONS = ['activation.started', 'activation.expired', 'assignment.added', 'activation.deactivated'] as const;
const COPY_CHUNK_ROWS = 2_000;
const QUERY_SAMPLES = 200;
const PAGE_SIZE = 50;

/** Size of the audit data set. */
export interface AuditPlan {
  events: number;
  exportEvents: number;
}

/** The seeded chain: events one second apart from `firstEventMs`. */
export interface AuditSeed {
  firstEventMs: number;
  events: number;
}

/** Loads `plan.events` chained events with COPY; returns where they start in time. */
export async function seedAuditEvents(store: BenchStore, plan: AuditPlan): Promise<AuditSeed> {
  const sql = store.handle.sql;
  const firstEventMs = Date.now() - plan.events * 1000;
  const roleIdValue = randomUUID();
  const writable = await sql`
    copy audit_events (occurred_at, actor_id, action, target_type, target_id, role_id, subject_user_id,
      reason, before, after, prev_hash, hash) from stdin`.writable();
  let prevHash = GENESIS_HASH;
  let chunk: string[] = [];
  for (let index = 0; index < plan.events; index += 1) {
    const record = {
      occurredAt: new Date(firstEventMs + index * 1000).toISOString(),
      actorId: index % 3 === 0 ? 'system' : `UAUDADMIN${index % 7}`,
      action: ACTIONS[index % ACTIONS.length] ?? 'activation.started',
      targetType: 'activation',
      targetId: randomUUID(),
      roleId: roleIdValue,
      subjectUserId: auditUser(index),
      reason: index % 5 === 0 ? null : `benchmark, event "${index}"`,
      before: { status: 'active' },
      after: { status: 'expired', endedAt: new Date(firstEventMs + index * 1000).toISOString() },
    };
    const hash = hashAuditRecord(prevHash, record);
    chunk.push(
      [
        record.occurredAt,
        record.actorId,
        record.action,
        record.targetType,
        record.targetId,
        record.roleId,
        record.subjectUserId,
        record.reason,
        JSON.stringify(record.before),
        JSON.stringify(record.after),
        prevHash,
        hash,
      ]
        .map(copyText)
        .join('\t'),
    );
    prevHash = hash;
    if (chunk.length === COPY_CHUNK_ROWS) {
      if (!writable.write(`${chunk.join('\n')}\n`)) await once(writable, 'drain');
      chunk = [];
    }
  }
  if (chunk.length > 0) writable.write(`${chunk.join('\n')}\n`);
  writable.end();
  await once(writable, 'finish');
  await sql`analyze audit_events`;
  return { firstEventMs, events: plan.events };
}

/** Latest 50 events of random users, first and second page, and the CSV export in its own process. */
export async function measureAudit(
  store: BenchStore,
  seed: AuditSeed,
  plan: AuditPlan,
  logFile: string,
  metrics: RunMetrics,
): Promise<void> {
  const firstPages: number[] = [];
  const secondPages: number[] = [];
  for (let sample = 0; sample < QUERY_SAMPLES; sample += 1) {
    const user = auditUser(Math.floor(Math.random() * seed.events));
    let startedAt = performance.now();
    const page = await listUserAuditEvents(store.handle.db, { subjectUserId: user, limit: PAGE_SIZE });
    firstPages.push(performance.now() - startedAt);
    startedAt = performance.now();
    await listUserAuditEvents(store.handle.db, { subjectUserId: user, limit: PAGE_SIZE, beforeId: page.nextCursor });
    secondPages.push(performance.now() - startedAt);
  }
  metrics.setDistribution('audit', `latest ${PAGE_SIZE} of one user, ${seed.events} events`, distribution(firstPages));
  metrics.setDistribution('audit', `next ${PAGE_SIZE} by cursor`, distribution(secondPages));

  const since = new Date(seed.firstEventMs + (seed.events - plan.exportEvents) * 1000);
  const exporter = await startChild(
    'audit-export',
    { BENCH_DATABASE_URL: store.databaseUrl, BENCH_EXPORT_SINCE: since.toISOString() },
    logFile,
  );
  const result = await exporter.result();
  await exporter.stop();
  metrics.set('audit', `CSV export rows`, result.rows ?? Number.NaN);
  metrics.set('audit', `CSV export ms`, result.elapsedMs ?? Number.NaN);
  metrics.set('audit', `CSV export MB written`, (result.bytes ?? Number.NaN) / 1e6);
  metrics.set('audit', `CSV export process RSS before MB`, (result.rssBeforeBytes ?? Number.NaN) / 1e6);
  metrics.set('audit', `CSV export process peak RSS MB`, (result.maxRssBytes ?? Number.NaN) / 1e6);
}

/** Spreads events over `AUDIT_USERS` users, so each has about `events / AUDIT_USERS` events. */
function auditUser(index: number): string {
  return `UAUD${String((index * 7_919) % AUDIT_USERS).padStart(6, '0')}`;
}

// COPY's text format: backslash, tab and line breaks are escaped, and \N is null.
function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
