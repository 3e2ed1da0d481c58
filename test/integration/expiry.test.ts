import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireActivation } from '../../src/services/activation-ending.js';
import {
  EXPIRY_SLOT_MIN_LEAD_MS,
  EXPIRY_SLOT_MS,
  expiryJobIds,
  expirySlotEnd,
  scheduleExpiry,
} from '../../src/jobs/queues.js';
import { sweepOverdueActivations } from '../../src/jobs/sweep.js';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  messageText,
  replyTo,
  startTestApp,
  TestClock,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';

const ADMIN = 'UADMIN02';
const USERS = ['UEXPIRE1', 'UEXPIRE2', 'UEXPIRE3', 'UEXPIRE4', 'UEXPIRE5', 'UEXPIRE6'] as const;
const [JOB_USER, SWEEP_USER, RACE_USER, SECOND_USER, SWEPT_JOB_USER, LOCKED_USER] = USERS;

let environment: TestEnvironment;
let fake: FakeSlack;
const apps: TestApp[] = [];

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  fake.setUser({ id: ADMIN, tz: 'UTC' });
  for (const user of USERS) fake.setUser({ id: user, tz: 'UTC' });
  const app = await startTestApp({ environment, fake, admins: [ADMIN] });
  apps.push(app);
  for (const user of USERS) {
    const result = await app.sender.command(ADMIN, `assign <@${user}> password eligible`);
    expect(await replyTo(fake, result.responseUrl)).toContain('eligible');
  }
});

afterAll(async () => {
  for (const app of apps) await app.stop();
  await fake?.close();
  await environment?.destroy();
});

async function activate(app: TestApp, userId: string): Promise<{ id: string; endsAt: Date }> {
  const result = await app.sender.command(userId, 'activate password 1m expiry test');
  expect(await replyTo(fake, result.responseUrl)).toContain('is active for 1 minute');
  const [row] = await app.sql<{ id: string; ends_at: Date }[]>`
    select id, ends_at from activations where user_id = ${userId} and status = 'active'`;
  if (row === undefined) throw new Error(`no active activation for ${userId}`);
  return { id: row.id, endsAt: row.ends_at };
}

/** Returns an activation's expiry job, its slot's or its own, once it is in Redis. */
async function expiryJob(app: TestApp, activation: { id: string; endsAt: Date }) {
  return eventually(async () => {
    for (const id of expiryJobIds(activation.id, activation.endsAt)) {
      const job = await app.runtime.queues.expiry.getJob(id);
      if (job !== undefined) return job;
    }
    return undefined;
  });
}

function endedMessages(userId: string) {
  return fake.messagesTo(userId).filter((call) => messageText(call.body).includes('has ended for you'));
}

async function auditCount(activationId: string, action: string): Promise<number> {
  const [row] = await apps[0]!.sql<{ count: number }[]>`
    select count(*)::int as count from audit_events where target_id = ${activationId} and action = ${action}`;
  return row?.count ?? 0;
}

describe('expiry', () => {
  it(
    'delayed job ends an activation at its end time and tells the user',
    async () => {
      const app = apps[0]!;
      const activation = await activate(app, JOB_USER);
      // The outbox schedules the job after the commit, so it may follow the reply by a moment.
      const job = await expiryJob(app, activation);
      expect(job.id).toBe(expiryJobIds(activation.id, activation.endsAt)[0]);
      expect(job.delay).toBeGreaterThan(55_000);

      const dm = await fake.waitFor(
        'chat.postMessage',
        (call) => call.body.channel === JOB_USER && messageText(call.body).includes('its time is up'),
        90_000,
      );
      expect(dm.at).toBeGreaterThanOrEqual(activation.endsAt.getTime());
      const [row] = await app.sql<{ status: string; ended_at: Date }[]>`
        select status, ended_at from activations where id = ${activation.id}`;
      expect(row?.status).toBe('expired');
      expect(await auditCount(activation.id, 'activation.expired')).toBe(1);
    },
    120_000,
  );

  it('second activation gets a job', async () => {
    const app = apps[0]!;
    const first = await activate(app, SECOND_USER);
    app.clock.advance(2 * 60_000);
    await sweepOverdueActivations(app.runtime.context, app.runtime.context.logger);
    app.clock.advance(-2 * 60_000);
    const second = await activate(app, SECOND_USER);
    expect(second.id).not.toBe(first.id);
    const job = await expiryJob(app, second);
    expect(job.data).toEqual({ dueBy: new Date(expirySlotEnd(second.endsAt)).toISOString() });
  });

  it('the start-up sweep ends what expired while the app was down', async () => {
    const app = apps[0]!;
    const activation = await activate(app, SWEEP_USER);
    // Remove the job too, as if Redis had lost it, so only Postgres has the activation.
    const job = await expiryJob(app, activation);
    await app.runtime.queues.expiry.remove(job.id ?? '');
    await app.stop();
    apps.shift();
    const clock = new TestClock();
    clock.advance(5 * 60_000);
    const restarted = await startTestApp({ environment, fake, admins: [ADMIN], clock });
    apps.unshift(restarted);

    const [row] = await restarted.sql<{ status: string }[]>`select status from activations where id = ${activation.id}`;
    expect(row?.status).toBe('expired');
    await fake.waitFor('chat.postMessage', (call) => call.body.channel === SWEEP_USER && messageText(call.body).includes('its time is up'));
    expect(await auditCount(activation.id, 'activation.expired')).toBe(1);
  });

  it('swept activation job changes nothing', async () => {
    const app = apps[0]!;
    const activation = await activate(app, SWEPT_JOB_USER);
    const jobId = (await expiryJob(app, activation)).id ?? '';
    await app.stop();
    apps.shift();
    const clock = new TestClock();
    clock.advance(activation.endsAt.getTime() - Date.now() + 60_000);
    const restarted = await startTestApp({ environment, fake, admins: [ADMIN], clock });
    apps.unshift(restarted);
    const [row] = await restarted.sql<{ status: string }[]>`select status from activations where id = ${activation.id}`;
    expect(row?.status).toBe('expired');

    // The job's delay runs on the wall clock, so it is promoted to run now.
    const job = await restarted.runtime.queues.expiry.getJob(jobId);
    await job?.promote();
    // Completed expiry jobs are removed, so the job is gone once it has run.
    await eventually(async () => ((await restarted.runtime.queues.expiry.getJob(jobId)) ? undefined : true));

    expect(await auditCount(activation.id, 'activation.expired')).toBe(1);
    await fake.waitFor('chat.postMessage', (call) => call.body.channel === SWEPT_JOB_USER && messageText(call.body).includes('its time is up'));
    expect(fake.messagesTo(SWEPT_JOB_USER).filter((call) => messageText(call.body).includes('its time is up'))).toHaveLength(1);
  });

  it('slot job waits for a held row', async () => {
    const app = apps[0]!;
    const activation = await activate(app, LOCKED_USER);
    const jobId = (await expiryJob(app, activation)).id ?? '';
    app.clock.advance(2 * 60_000);
    try {
      // Another transaction locks the row, as a batch that is about to fail would. The job skips
      // it, and must not complete while it is still active.
      await app.sql.begin(async (tx) => {
        await tx`select id from activations where id = ${activation.id} for update`;
        await (await app.runtime.queues.expiry.getJob(jobId))?.promote();
        await eventually(async () => {
          const job = await app.runtime.queues.expiry.getJob(jobId);
          return job?.processedOn !== undefined && (await job.getState()) === 'delayed' ? true : undefined;
        });
        const [row] = await app.sql<{ status: string }[]>`select status from activations where id = ${activation.id}`;
        expect(row?.status).toBe('active');
      });

      await eventually(async () => {
        const [row] = await app.sql<{ status: string }[]>`select status from activations where id = ${activation.id}`;
        return row?.status === 'expired' ? true : undefined;
      });
      await eventually(async () => ((await app.runtime.queues.expiry.getJob(jobId)) ? undefined : true));
      expect(await auditCount(activation.id, 'activation.expired')).toBe(1);
      await fake.waitFor('chat.postMessage', (call) => call.body.channel === LOCKED_USER && messageText(call.body).includes('its time is up'));
    } finally {
      app.clock.offsetMs = 0;
    }
  });

  it('two workers racing on one expiry end it once, with one message and one audit event', async () => {
    const first = apps[0]!;
    first.clock.offsetMs = 0;
    const activation = await activate(first, RACE_USER);
    const secondClock = new TestClock();
    // Stopped at the end: its clock runs two minutes ahead, and later tests schedule expiries.
    const second = await startTestApp({ environment, fake, admins: [ADMIN], clock: secondClock });
    try {
      first.clock.advance(2 * 60_000);
      secondClock.advance(2 * 60_000);
      const outcomes = await Promise.all([
        ...Array.from({ length: 5 }, () => expireActivation(first.runtime.context, activation.id)),
        ...Array.from({ length: 5 }, () => expireActivation(second.runtime.context, activation.id)),
      ]);
      const sweeps = await Promise.all([
        sweepOverdueActivations(first.runtime.context, first.runtime.context.logger),
        sweepOverdueActivations(second.runtime.context, second.runtime.context.logger),
      ]);
      const endedByCalls = outcomes.filter((result) => result.outcome === 'ended').length;
      expect(endedByCalls + sweeps[0] + sweeps[1]).toBe(1);

      await eventually(async () => (endedMessages(RACE_USER).length > 0 ? true : undefined));
      // Give a duplicate, if any, time to arrive before counting.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(endedMessages(RACE_USER)).toHaveLength(1);
      expect(await auditCount(activation.id, 'activation.expired')).toBe(1);
    } finally {
      await second.stop();
    }
  });
});

describe('burst expiry', () => {
  it('ends a burst in batches, once each, with an intact audit chain', async () => {
    const app = apps[0]!;
    const { assignRole } = await import('../../src/services/assignments.js');
    const { activateRole } = await import('../../src/services/activations.js');
    const { expireDueActivations } = await import('../../src/services/activation-ending.js');
    const { verifyAuditChain } = await import('../../src/services/audit-verify.js');
    const burst = Array.from({ length: 60 }, (_, index) => `UBURST${String(index).padStart(3, '0')}`);
    for (const userId of burst) {
      await assignRole(app.runtime.context, { actorId: ADMIN, assigneeId: userId, roleQuery: 'billing', kind: 'eligible', endsAt: null, reason: null });
      await activateRole(app.runtime.context, { userId, roleQuery: 'billing', durationMinutes: 1, justification: 'burst' });
    }
    app.clock.advance(2 * 60_000);
    try {
      const batches = await Promise.all([
        expireDueActivations(app.runtime.context, 25),
        expireDueActivations(app.runtime.context, 25),
        expireDueActivations(app.runtime.context, 25),
      ]);
      const rest = await sweepOverdueActivations(app.runtime.context, app.runtime.context.logger);
      const endedIds = [...batches.flat().map((row) => row.id)];
      expect(new Set(endedIds).size).toBe(endedIds.length);
      const [counts] = await app.sql<{ expired: number; events: number }[]>`
        select (select count(*)::int from activations where user_id like 'UBURST%' and status = 'expired') as expired,
               (select count(*)::int from audit_events where subject_user_id like 'UBURST%' and action = 'activation.expired') as events`;
      expect(counts?.expired).toBe(60);
      expect(counts?.events).toBe(60);
      expect(endedIds.length + rest).toBeGreaterThanOrEqual(60);
    } finally {
      app.clock.offsetMs = 0;
    }
    expect((await verifyAuditChain(app.runtime.context.db)).ok).toBe(true);
  });

  it('slot jobs shared, late ones own', async () => {
    const app = apps[0]!;
    const queue = app.runtime.queues.expiry;
    const clock = new TestClock();
    const slotEnd = expirySlotEnd(new Date(Date.now() + 10 * 60_000));
    const ids = Array.from({ length: 4 }, (_, index) => `00000000-0000-4000-8000-00000000010${index}`);
    // The fourth activation ends in a minute. Its job is scheduled when less than the minimum
    // lead is left, so the job is its own.
    const nearEnd = new Date(Date.now() + 60_000);
    const jobIds = [`expire-by-${slotEnd}`, `expire-by-${slotEnd + EXPIRY_SLOT_MS}`, `expire-${ids[3]}`];
    try {
      await scheduleExpiry(app.runtime.queues, clock, ids[0]!, new Date(slotEnd - EXPIRY_SLOT_MS + 1));
      await scheduleExpiry(app.runtime.queues, clock, ids[1]!, new Date(slotEnd));
      await scheduleExpiry(app.runtime.queues, clock, ids[2]!, new Date(slotEnd + 1));
      clock.advance(60_000 - EXPIRY_SLOT_MIN_LEAD_MS + EXPIRY_SLOT_MS);
      await scheduleExpiry(app.runtime.queues, clock, ids[3]!, nearEnd);

      const [shared, next, own] = await Promise.all(jobIds.map((id) => queue.getJob(id)));
      expect(shared?.data).toEqual({ dueBy: new Date(slotEnd).toISOString() });
      expect(next?.data).toEqual({ dueBy: new Date(slotEnd + EXPIRY_SLOT_MS).toISOString() });
      expect(own?.data).toEqual({ activationId: ids[3] });
      for (const id of ids.slice(0, 3)) expect(await queue.getJob(`expire-${id}`)).toBeUndefined();
      expect(await queue.getDelayedCount()).toBeGreaterThanOrEqual(3);
    } finally {
      await Promise.all(jobIds.map((id) => queue.remove(id)));
    }
  });

  it('slot job ends each activation once; early run waits', async () => {
    const app = apps[0]!;
    const queue = app.runtime.queues.expiry;
    const { assignRole } = await import('../../src/services/assignments.js');
    const { activateRole } = await import('../../src/services/activations.js');
    const wave = Array.from({ length: 30 }, (_, index) => `USLOT${String(index).padStart(3, '0')}`);
    for (const userId of wave) fake.setUser({ id: userId, tz: 'UTC' });
    for (const userId of wave) {
      await assignRole(app.runtime.context, { actorId: ADMIN, assigneeId: userId, roleQuery: 'billing', kind: 'eligible', endsAt: null, reason: null });
      await activateRole(app.runtime.context, { userId, roleQuery: 'billing', durationMinutes: 1, justification: 'slot' });
    }
    const rows = await app.sql<{ id: string; ends_at: Date }[]>`
      select id, ends_at from activations where user_id like 'USLOT%' and status = 'active' order by ends_at`;
    expect(rows).toHaveLength(30);
    const activations = rows.map((row) => ({ id: row.id, endsAt: row.ends_at }));
    const jobs = await Promise.all(activations.map((activation) => expiryJob(app, activation)));
    const slotJobIds = [...new Set(jobs.map((job) => job.id ?? ''))];
    expect(slotJobIds.every((id) => id.startsWith('expire-by-'))).toBe(true);

    // Run the first slot's job now, a minute early: it ends nothing and goes back to waiting.
    const early = jobs[0]!;
    await early.promote();
    await eventually(async () => {
      const job = await queue.getJob(early.id ?? '');
      return job?.processedOn !== undefined && (await job.getState()) === 'delayed' ? true : undefined;
    });
    const [stillActive] = await app.sql<{ count: number }[]>`
      select count(*)::int as count from activations where user_id like 'USLOT%' and status = 'active'`;
    expect(stillActive?.count).toBe(30);

    app.clock.advance(2 * 60_000);
    try {
      for (const id of slotJobIds) await (await queue.getJob(id))?.promote();
      await eventually(async () => {
        const [row] = await app.sql<{ count: number }[]>`
          select count(*)::int as count from activations where user_id like 'USLOT%' and status = 'expired'`;
        return row?.count === 30 ? true : undefined;
      });
      for (const activation of activations) expect(await auditCount(activation.id, 'activation.expired')).toBe(1);
      for (const userId of wave) {
        await fake.waitFor('chat.postMessage', (call) => call.body.channel === userId && messageText(call.body).includes('its time is up'));
      }
      // Give a duplicate, if any, time to arrive before counting.
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const userId of wave) {
        expect(fake.messagesTo(userId).filter((call) => messageText(call.body).includes('its time is up'))).toHaveLength(1);
      }
    } finally {
      app.clock.offsetMs = 0;
    }
  });
});
