import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type DatabaseHandle } from '../../db/client.js';
import { appendAudit, hashAuditRecord } from '../../src/services/audit.js';
import { verifyAuditChain, type AuditHead } from '../../src/services/audit-verify.js';
import { FakeSlack } from '../support/fake-slack.js';
import { createTestEnvironment, startTestApp, type TestEnvironment } from '../support/harness.js';

const run = promisify(execFile);

let environment: TestEnvironment;
let database: DatabaseHandle;
let owner: postgres.Sql;

beforeAll(async () => {
  environment = createTestEnvironment();
  // Starting the app once migrates the database and seeds the role catalog, which writes events.
  const fake = await FakeSlack.start();
  const app = await startTestApp({ environment, fake, admins: ['UADMINAV1'] });
  await app.stop();
  await fake.close();
  database = connectDatabase(environment.databaseUrl, { maxConnections: 2 });
  owner = postgres(environment.databaseUrl, { max: 1, onnotice: () => undefined });
  for (let index = 0; index < 5; index++) await append(`event-${index}`);
}, 60_000);

afterAll(async () => {
  await owner?.end({ timeout: 5 });
  await database?.close();
  await environment?.destroy();
});

async function append(targetId: string): Promise<void> {
  await database.db.transaction((tx) =>
    appendAudit(tx, { occurredAt: new Date(), actorId: 'UADMINAV1', action: 'test.verify', targetType: 'user', targetId }),
  );
}

async function currentHead(): Promise<AuditHead> {
  const check = await verifyAuditChain(database.db);
  if (!check.ok || check.head === undefined) throw new Error('chain does not verify');
  return { id: check.head.id, hash: check.head.hash };
}

/** Runs `npm run audit:verify` as an operator would, and returns its exit status and output. */
async function verifyCommand(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'src/verify-audit.ts', ...args], {
      env: { ...process.env, DATABASE_URL: environment.databaseUrl },
      timeout: 60_000,
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { status: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Changes the table as someone with the owner's rights could, past the append-only triggers. */
async function tamper(change: (sql: postgres.TransactionSql) => Promise<unknown>): Promise<void> {
  await owner.begin(async (sql) => {
    await sql`alter table audit_events disable trigger user`;
    await change(sql);
    await sql`alter table audit_events enable trigger user`;
  });
}

describe('audit chain verification', () => {
  it('prints the head to record', async () => {
    const head = await currentHead();
    const result = await verifyCommand();
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`in database ${new URL(environment.databaseUrl).pathname.slice(1)} on `);
    expect(result.stdout).toContain('audit chain verified');
    expect(result.stdout).toContain(`${head.id}:${head.hash}`);
  });

  it('accepts a recorded head', async () => {
    const head = await currentHead();
    await append('after-the-record');
    expect((await verifyAuditChain(database.db, head)).ok).toBe(true);
    // A hash copied in upper case is the same hash.
    const result = await verifyCommand('--head', `${head.id}:${head.hash.toUpperCase()}`);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`including recorded event ${head.id}`);
  });

  it('rejects an invalid head', async () => {
    const result = await verifyCommand('--head', '12:not-a-hash');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('expected ID:HASH');
  });

  it('detects edited recorded head', async () => {
    const head = await currentHead();
    // Rewrites the newest event and recomputes its hash, so the chain alone still verifies.
    await tamper(async (sql) => {
      const [event] = await sql<{ prev_hash: string; occurred_at: Date; actor_id: string; target_id: string }[]>`
        select prev_hash, occurred_at, actor_id, target_id from audit_events where id = ${head.id}`;
      if (event === undefined) throw new Error('no head event');
      const hash = hashAuditRecord(event.prev_hash, {
        occurredAt: event.occurred_at.toISOString(),
        actorId: event.actor_id,
        action: 'test.verify',
        targetType: 'user',
        targetId: event.target_id,
        roleId: null,
        subjectUserId: null,
        reason: 'rewritten',
        before: null,
        after: null,
      });
      await sql`update audit_events set reason = 'rewritten', hash = ${hash} where id = ${head.id}`;
    });
    expect((await verifyAuditChain(database.db)).ok).toBe(true);

    const check = await verifyAuditChain(database.db, head);
    expect(check).toMatchObject({ ok: false, brokenAtId: head.id, reason: 'recorded_head_mismatch' });
    const result = await verifyCommand('--head', `${head.id}:${head.hash}`);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`event ${head.id} was recorded earlier with another hash`);
  });

  it('detects deleted newest events', async () => {
    await append('to-be-deleted');
    const head = await currentHead();
    await tamper((sql) => sql`delete from audit_events where id = ${head.id}`);
    // Without a recorded head the shorter chain verifies: this is what recording one is for.
    expect((await verifyAuditChain(database.db)).ok).toBe(true);

    const check = await verifyAuditChain(database.db, head);
    expect(check).toMatchObject({ ok: false, brokenAtId: head.id, reason: 'recorded_head_missing' });
    const result = await verifyCommand('--head', `${head.id}:${head.hash}`);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('the newest events were deleted');
  });

  it('detects an edited event', async () => {
    const head = await currentHead();
    await tamper((sql) => sql`update audit_events set reason = 'edited' where id = ${head.id}`);
    const result = await verifyCommand();
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`event ${head.id} does not match its hash`);
  });
});
