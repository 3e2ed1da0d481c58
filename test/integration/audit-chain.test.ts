import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/services/audit-verify.js';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  replyTo,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';

const ADMIN = 'UADMIN05';
const USER = 'UAUDIT001';

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  fake.setUser({ id: ADMIN, tz: 'UTC' });
  fake.setUser({ id: USER, tz: 'UTC' });
  app = await startTestApp({ environment, fake, admins: [ADMIN] });
  const steps: [string, string][] = [
    [ADMIN, `assign <@${USER}> billing eligible`],
    [USER, 'activate billing 30m month-end close'],
    [USER, 'deactivate billing'],
    [ADMIN, `remove <@${USER}> billing no longer in finance`],
  ];
  for (const [userId, text] of steps) {
    const result = await app.sender.command(userId, text);
    await replyTo(fake, result.responseUrl);
  }
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

describe('audit trail', () => {
  it('records every change of the flow in order', async () => {
    const rows = await app.sql<{ action: string; actor_id: string }[]>`
      select action, actor_id from audit_events where subject_user_id = ${USER} order by id`;
    expect(rows.map((row) => [row.action, row.actor_id])).toEqual([
      ['assignment.added', ADMIN],
      ['activation.activated', USER],
      ['activation.deactivated', USER],
      ['assignment.removed', ADMIN],
    ]);
  });

  it('hash chain verifies from the first event', async () => {
    const check = await verifyAuditChain(app.runtime.context.db);
    expect(check.ok).toBe(true);
    expect(check.events).toBeGreaterThanOrEqual(6);
  });

  it('batch append stores fields in order', async () => {
    const { appendAuditBatch } = await import('../../src/services/audit.js');
    const [role] = await app.sql<{ id: string }[]>`select id from roles order by slug limit 1`;
    const occurredAt = new Date('2026-03-01T12:34:56.789Z');
    // Hundreds of rows, as the expiry writes, so the order of ids is checked over many rows.
    const filler = Array.from({ length: 300 }, (_, index) => ({
      occurredAt,
      actorId: 'system',
      action: 'test.batch',
      targetType: 'user' as const,
      targetId: `batch-filler-${String(index).padStart(3, '0')}`,
    }));
    const inputs = [
      {
        occurredAt,
        actorId: 'system',
        action: 'test.batch',
        targetType: 'activation' as const,
        targetId: 'batch-1',
        roleId: role!.id,
        subjectUserId: 'UBATCH01',
        before: { status: 'active', nested: { list: [1, 'two', null] } },
        after: { status: 'expired' },
      },
      {
        occurredAt,
        actorId: ADMIN,
        action: 'test.batch',
        targetType: 'user' as const,
        targetId: 'batch-2',
        reason: "it's a \"quoted\" reason, with ünïcode",
      },
    ];
    await app.runtime.context.db.transaction((tx) => appendAuditBatch(tx, [...inputs, ...filler]));

    const rows = await app.sql<
      { target_id: string; occurred_at: Date; actor_id: string; role_id: string | null; subject_user_id: string | null; reason: string | null; before: unknown; after: unknown }[]
    >`select target_id, occurred_at, actor_id, role_id, subject_user_id, reason, before, after
      from audit_events where action = 'test.batch' order by id`;
    expect(rows.map((row) => row.target_id)).toEqual(['batch-1', 'batch-2', ...filler.map((input) => input.targetId)]);
    expect(rows[0]!.occurred_at.toISOString()).toBe(occurredAt.toISOString());
    expect(rows[0]!.role_id).toBe(role!.id);
    expect(rows[0]!.subject_user_id).toBe('UBATCH01');
    expect(rows[0]!.before).toEqual({ status: 'active', nested: { list: [1, 'two', null] } });
    expect(rows[0]!.after).toEqual({ status: 'expired' });
    expect(rows[0]!.reason).toBeNull();
    expect(rows[1]!.actor_id).toBe(ADMIN);
    expect(rows[1]!.reason).toBe(inputs[1]!.reason);
    expect(rows[1]!.role_id).toBeNull();
    expect(rows[1]!.subject_user_id).toBeNull();
    expect(rows[1]!.before).toBeNull();
    expect(rows[1]!.after).toBeNull();
    expect((await verifyAuditChain(app.runtime.context.db)).ok).toBe(true);
  });

  it('concurrent appends keep one chain', async () => {
    const { appendAudit } = await import('../../src/services/audit.js');
    const occurredAt = new Date('2026-03-02T08:00:00.123Z');
    // Two- to four-byte UTF-8 text, so the hash Postgres computes is checked against the verifier's.
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        app.runtime.context.db.transaction((tx) =>
          appendAudit(tx, {
            occurredAt,
            actorId: ADMIN,
            action: 'test.concurrent',
            targetType: 'user',
            targetId: `concurrent-${index}`,
            reason: `ünïcode ✓ 🔐 line\nbreak "${index}"`,
            before: index % 2 === 0 ? null : { nested: { list: [index, 'two', null], flag: true } },
          }),
        ),
      ),
    );

    const rows = await app.sql<{ target_id: string; reason: string; before: unknown }[]>`
      select target_id, reason, before from audit_events where action = 'test.concurrent' order by id`;
    expect(rows).toHaveLength(20);
    expect(new Set(rows.map((row) => row.target_id)).size).toBe(20);
    const withBefore = rows.find((row) => row.target_id === 'concurrent-1');
    expect(withBefore?.reason).toBe('ünïcode ✓ 🔐 line\nbreak "1"');
    expect(withBefore?.before).toEqual({ nested: { list: [1, 'two', null], flag: true } });
    expect(rows.find((row) => row.target_id === 'concurrent-0')?.before).toBeNull();
    expect((await verifyAuditChain(app.runtime.context.db)).ok).toBe(true);
  });

  it('stores lone surrogates as U+FFFD', async () => {
    const { appendAudit, appendAuditBatch } = await import('../../src/services/audit.js');
    // A Slack payload can carry a lone UTF-16 surrogate as a JSON escape, which UTF-8 cannot encode.
    const input = {
      occurredAt: new Date('2026-03-03T08:00:00.000Z'),
      actorId: ADMIN,
      action: 'test.surrogate',
      targetType: 'user' as const,
      targetId: 'surrogate-\ud800',
      reason: 'high \ud800 alone, low \udc00 alone, pair \ud83d\udd10',
      after: { ['key\udbff']: ['item \udfff'] },
    };
    await app.runtime.context.db.transaction((tx) => appendAudit(tx, input));
    await app.runtime.context.db.transaction((tx) => appendAuditBatch(tx, [{ ...input, targetId: 'surrogate-batch' }]));

    const rows = await app.sql<{ target_id: string; reason: string; after: unknown }[]>`
      select target_id, reason, after from audit_events where action = 'test.surrogate' order by id`;
    expect(rows.map((row) => row.target_id)).toEqual(['surrogate-\ufffd', 'surrogate-batch']);
    for (const row of rows) {
      expect(row.reason).toBe('high \ufffd alone, low \ufffd alone, pair \u{1f510}');
      expect(row.after).toEqual({ ['key\ufffd']: ['item \ufffd'] });
    }
    expect((await verifyAuditChain(app.runtime.context.db)).ok).toBe(true);
  });

  it('rejects UPDATE and DELETE at the database', async () => {
    await expect(app.sql`update audit_events set reason = 'edited' where id = 1`).rejects.toThrow(/append-only/);
    await expect(app.sql`delete from audit_events where id = 1`).rejects.toThrow(/append-only/);
  });

  it('detects an edited row once the trigger is bypassed', async () => {
    // A superuser can disable triggers; the chain still shows the edit. Done in a copy of the
    // database so the shared test database keeps an intact chain.
    const copyName = `${environment.databaseName}_tamper`;
    const admin = postgres(environment.databaseUrl.replace(/\/[^/]+$/, '/postgres'), { max: 1, onnotice: () => undefined });
    await app.stop();
    try {
      await admin.unsafe(`create database "${copyName}" template "${environment.databaseName}"`);
      const copy = postgres(environment.databaseUrl.replace(/\/[^/]+$/, `/${copyName}`), { max: 1, onnotice: () => undefined });
      try {
        await copy.unsafe('alter table audit_events disable trigger audit_events_no_update_delete');
        await copy`update audit_events set reason = 'quietly edited' where id = 2`;
        const { drizzle } = await import('drizzle-orm/postgres-js');
        const check = await verifyAuditChain(drizzle(copy));
        expect(check).toMatchObject({ ok: false, brokenAtId: 2, reason: 'hash_mismatch' });
      } finally {
        await copy.end({ timeout: 5 });
      }
    } finally {
      await admin.unsafe(`drop database if exists "${copyName}" with (force)`);
      await admin.end({ timeout: 5 });
      app = await startTestApp({ environment, fake, admins: [ADMIN] });
    }
  });
});
