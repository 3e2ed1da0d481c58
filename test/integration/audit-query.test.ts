import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, ensureDatabaseExists, runMigrations, type DatabaseHandle } from '../../db/client.js';
import { appendAudit, type AuditInput } from '../../src/services/audit.js';
import {
  AUDIT_CSV_COLUMNS,
  exportAuditCsv,
  listUserAuditEvents,
  type AuditExportFilter,
} from '../../src/services/audit-query.js';
import { createTestEnvironment, type TestEnvironment } from '../support/harness.js';

const ALICE = 'UAUDIT001';
const BOB = 'UAUDIT002';
const START = Date.parse('2025-03-01T09:00:00Z');
// A reason that needs every RFC 4180 rule: a comma, a double quote and a line break.
const AWKWARD_REASON = 'incident, "urgent"\nsecond line';

let environment: TestEnvironment;
let database: DatabaseHandle;

beforeAll(async () => {
  environment = createTestEnvironment();
  await ensureDatabaseExists(environment.databaseUrl);
  await runMigrations(environment.databaseUrl);
  database = connectDatabase(environment.databaseUrl, { maxConnections: 4 });
  // Seven events: five about Alice, two about Bob, interleaved, one minute apart.
  const subjects = [ALICE, BOB, ALICE, ALICE, BOB, ALICE, ALICE];
  for (const [index, subject] of subjects.entries()) {
    await record({
      occurredAt: new Date(START + index * 60_000),
      actorId: 'UADMIN',
      action: 'activation.started',
      targetType: 'activation',
      targetId: `activation-${index}`,
      subjectUserId: subject,
      reason: index === 2 ? AWKWARD_REASON : `reason ${index}`,
      after: { status: 'active', index },
    });
  }
});

afterAll(async () => {
  await database?.close();
  await environment?.destroy();
});

async function record(input: AuditInput): Promise<void> {
  await database.db.transaction(async (tx) => appendAudit(tx, input));
}

async function exportText(filter: AuditExportFilter): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  await exportAuditCsv(database.sql, filter, sink);
  return Buffer.concat(chunks).toString('utf8');
}

describe('listUserAuditEvents', () => {
  it('returns the newest events first', async () => {
    const page = await listUserAuditEvents(database.db, { subjectUserId: ALICE, limit: 3 });

    expect(page.events.map((event) => event.targetId)).toEqual(['activation-6', 'activation-5', 'activation-3']);
    expect(page.nextCursor).toBe(page.events[2]?.id);
  });

  it('pages through older events by cursor', async () => {
    const first = await listUserAuditEvents(database.db, { subjectUserId: ALICE, limit: 3 });
    const second = await listUserAuditEvents(database.db, {
      subjectUserId: ALICE,
      limit: 3,
      beforeId: first.nextCursor,
    });

    expect(second.events.map((event) => event.targetId)).toEqual(['activation-2', 'activation-0']);
    expect(second.nextCursor).toBeUndefined();
  });

  it('leaves out other users', async () => {
    const page = await listUserAuditEvents(database.db, { subjectUserId: BOB, limit: 50 });

    expect(page.events.map((event) => event.subjectUserId)).toEqual([BOB, BOB]);
  });

  it('returns hash-chain fields', async () => {
    const page = await listUserAuditEvents(database.db, { subjectUserId: ALICE, limit: 1 });
    const event = page.events[0];

    expect(event?.prevHash).toMatch(/^[0-9a-f]{64}$/);
    expect(event?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects a page size out of range', async () => {
    await expect(listUserAuditEvents(database.db, { subjectUserId: ALICE, limit: 0 })).rejects.toThrow(RangeError);
    await expect(listUserAuditEvents(database.db, { subjectUserId: ALICE, limit: 201 })).rejects.toThrow(RangeError);
  });
});

describe('exportAuditCsv', () => {
  it('writes a header and rows oldest first', async () => {
    const text = await exportText({});
    const lines = text.split('\r\n');

    expect(lines[0]).toBe(AUDIT_CSV_COLUMNS.join(','));
    expect(lines[1]).toMatch(/^\d+,2025-03-01T09:00:00\.000Z,UADMIN,activation\.started,activation,activation-0,/);
    expect(text.endsWith('\r\n')).toBe(true);
  });

  it('quotes fields as RFC 4180 requires', async () => {
    const text = await exportText({ subjectUserId: ALICE });

    expect(text).toContain(',"incident, ""urgent""\nsecond line",');
    expect(text).toContain(',"{""index"": 2, ""status"": ""active""}",');
  });

  it('exports chain fields that verify', async () => {
    const text = await exportText({});
    const rows = await database.sql<{ prev_hash: string; hash: string }[]>`
      select prev_hash, hash from audit_events order by id`;

    for (const row of rows) expect(text).toContain(`,${row.prev_hash},${row.hash}\r\n`);
    for (let index = 1; index < rows.length; index += 1) {
      expect(rows[index]?.prev_hash).toBe(rows[index - 1]?.hash);
    }
  });

  it('filters by user and time', async () => {
    const text = await exportText({
      subjectUserId: ALICE,
      since: new Date(START + 2 * 60_000),
      until: new Date(START + 6 * 60_000),
    });
    const targets = text.match(/activation-\d/g);

    expect(targets).toEqual(['activation-2', 'activation-3', 'activation-5']);
  });

});
