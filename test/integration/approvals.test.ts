import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROLE_SETTINGS, type RoleSettings } from '../../src/domain/role-settings.js';
import { sweepDueRequests } from '../../src/jobs/sweep.js';
import { createLogger } from '../../src/logger.js';
import { listRoles } from '../../src/services/roles.js';
import { updateRoleSettings } from '../../src/services/role-settings.js';
import { dmChannelIdFor, FakeSlack, type RecordedCall } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  messageText,
  replyTo,
  SECURITY_CHANNEL,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';
import { hasCancelButton, recordedWaitingDm, waitingDmRewrite } from '../support/flows.js';

const ADMIN = 'UADMIN04';
const MANAGER = 'UMANAGER1';
const MANAGER2 = 'UMANAGER2';
const GROUP_MEMBER = 'UMANAGER3';
const REQUESTERS = ['UREQ00001', 'UREQ00002', 'UREQ00003', 'UREQ00004', 'UREQ00005', 'UREQ00006', 'UREQ00007', 'UREQ00008', 'UREQ00009'] as const;
const [ALICE, BOB, CAROL, DAVE, EVE, FRANK, GRACE, HEIDI, IVAN] = REQUESTERS;
const APPROVER_GROUP = 'SAPPROVE1';
// Each files one Billing Administrator request to see their waiting DM rewritten.
const WAITING_DM_REQUESTERS = ['UREQ00010', 'UREQ00011', 'UREQ00012', 'UREQ00013', 'UREQ00014'] as const;
const [JUDY, KEN, LEO, MIA, NED] = WAITING_DM_REQUESTERS;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [ADMIN, MANAGER, MANAGER2, GROUP_MEMBER, ...REQUESTERS, ...WAITING_DM_REQUESTERS]) fake.setUser({ id, tz: 'UTC' });
  fake.setUserGroup(APPROVER_GROUP, [GROUP_MEMBER, FRANK]);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter((part) => part !== '')) logLines.push(JSON.parse(line));
      done();
    },
  });
  app = await startTestApp({ environment, fake, admins: [ADMIN], logger: createLogger('info', sink) });

  await configure('billing', { requireApproval: true, approvers: { users: [MANAGER, MANAGER2], groups: [] } });
  await configure('password', { requireApproval: true, approvers: { users: [], groups: [APPROVER_GROUP] } });
  await configure('service', { requireApproval: true, approvers: { users: [GRACE], groups: [] } });
  await configure('user-administrator', { requireApproval: true });
  for (const user of REQUESTERS) {
    for (const role of ['billing', 'password', 'service', 'user-administrator']) {
      await command(ADMIN, `assign <@${user}> ${role} eligible`);
    }
  }
  for (const user of WAITING_DM_REQUESTERS) await command(ADMIN, `assign <@${user}> billing eligible`);
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

async function configure(slug: string, change: Partial<RoleSettings>): Promise<void> {
  const role = (await listRoles(app.runtime.context.db)).find((candidate) => candidate.slug.startsWith(slug));
  if (role === undefined) throw new Error(`no role ${slug}`);
  await updateRoleSettings(app.runtime.context, {
    actorId: ADMIN,
    roleId: role.id,
    settings: { ...DEFAULT_ROLE_SETTINGS, ...role.settings, ...change },
  });
}

async function command(userId: string, text: string): Promise<string> {
  const result = await app.sender.command(userId, text);
  expect(result.status).toBe(200);
  return replyTo(fake, result.responseUrl);
}

async function requestRole(userId: string, role: string): Promise<string> {
  const reply = await command(userId, `activate ${role} 1h needed for INC-7`);
  expect(reply).toContain('waiting for approval');
  const [row] = await app.sql<{ id: string }[]>`
    select v.id from activations v join roles r on r.id = v.role_id
    where v.user_id = ${userId} and r.slug like ${`${role}%`} and v.status = 'pending_approval'`;
  if (row === undefined) throw new Error(`no pending request for ${userId}`);
  return row.id;
}

function approvalDmTo(approverId: string, activationId: string): Promise<RecordedCall> {
  return fake.waitFor(
    'chat.postMessage',
    (call) => call.body.channel === approverId && JSON.stringify(call.body.blocks).includes(activationId),
  );
}

async function click(userId: string, actionId: string, activationId: string) {
  const result = await app.sender.action(userId, {
    actionId,
    value: activationId,
    blockId: `decide:${activationId}`,
    actionType: 'button',
  });
  expect(result.status).toBe(200);
  return result;
}

async function clickReply(userId: string, actionId: string, activationId: string): Promise<string> {
  const result = await click(userId, actionId, activationId);
  const call = await fake.waitFor('response_url', (candidate) => candidate.url === result.responseUrl);
  return messageText(call.body);
}

async function statusOf(activationId: string): Promise<string | undefined> {
  const [row] = await app.sql<{ status: string }[]>`select status from activations where id = ${activationId}`;
  return row?.status;
}

async function auditActions(activationId: string): Promise<string[]> {
  const rows = await app.sql<{ action: string }[]>`
    select action from audit_events where target_id = ${activationId} order by id`;
  return rows.map((row) => row.action);
}

function updatesOf(activationId: string): RecordedCall[] {
  return fake.calls('chat.update').filter((call) => JSON.stringify(call.body.blocks).includes(activationId));
}

function hasButtons(call: RecordedCall): boolean {
  return JSON.stringify(call.body.blocks).includes('"actions"');
}

describe('role settings modal', () => {
  it('is refused to someone who is not an active administrator', async () => {
    expect(await command(ALICE, 'settings billing')).toContain('Only an active Privileged Role Administrator');
  });

  it('opens with current values and rejects bad fields', async () => {
    const opened = await app.sender.command(ADMIN, 'settings global');
    const call = await fake.waitFor('views.open', (candidate) => candidate.body.trigger_id === opened.triggerId);
    const view = call.body.view as { blocks: { block_id?: string; element?: { initial_value?: string } }[] };
    expect(view.blocks.find((block) => block.block_id === 'max_duration')?.element?.initial_value).toBe('8h');

    const result = await app.sender.submitView(ADMIN, {
      values: settingsValues({ maxDuration: '48h', groups: 'not-a-group', eligibleDays: '0' }),
    });
    expect(result.json).toMatchObject({ response_action: 'errors' });
    const errors = (result.json as { errors: Record<string, string> }).errors;
    expect(errors.max_duration).toContain('between 30 minutes and 24 hours');
    expect(errors.approver_groups).toContain('not a user group ID');
    expect(errors.eligible_days).toContain('whole number of days');
  });

  it('rejects an unknown user group on its field', async () => {
    const result = await app.sender.submitView(ADMIN, { values: settingsValues({ groups: 'SNOSUCH01' }) });
    expect((result.json as { errors: Record<string, string> }).errors.approver_groups).toContain('no user group SNOSUCH01');
  });

  it('saves valid settings and audits before and after', async () => {
    const result = await app.sender.submitView(ADMIN, {
      values: settingsValues({ maxDuration: '2h', approvers: [MANAGER], groups: `<!subteam^${APPROVER_GROUP}|@leads>` }),
    });
    expect(result.body).toBe('');
    const [role] = await app.sql<{ id: string; settings: RoleSettings }[]>`select id, settings from roles where slug = 'global-administrator'`;
    expect(role?.settings.maxActivationMinutes).toBe(120);
    expect(role?.settings.requireApproval).toBe(true);
    expect(role?.settings.approvers).toEqual({ users: [MANAGER], groups: [APPROVER_GROUP] });
    const [event] = await app.sql<{ before: Record<string, unknown>; after: Record<string, unknown> }[]>`
      select before, after from audit_events where action = 'role.settings_updated' and target_id = ${role?.id ?? ''}`;
    expect(event?.before.maxActivationMinutes).toBe(480);
    expect(event?.after.maxActivationMinutes).toBe(120);
    expect(event?.after.requireApproval).toBe(true);
  });

  it('applies the new maximum to new requests', async () => {
    await command(ADMIN, `assign <@${ALICE}> global eligible`);
    expect(await command(ALICE, 'activate global 3h testing')).toContain('at most 2 hours');
  });
});

describe('approval', () => {
  it('files a request, DMs every approver with buttons and tells the requester who approves', async () => {
    const id = await requestRole(ALICE, 'billing');
    for (const approver of [MANAGER, MANAGER2]) {
      const dm = await approvalDmTo(approver, id);
      const text = messageText(dm.body);
      expect(text).toContain(`<@${ALICE}> requests *Billing Administrator* for 1 hour`);
      expect(text).toContain('needed for INC-7');
      expect(hasButtons(dm)).toBe(true);
    }
    const notice = await fake.waitFor('chat.postMessage', (call) => call.body.channel === ALICE && messageText(call.body).includes('waiting for approval'));
    expect(messageText(notice.body)).toContain(`<@${MANAGER}>, <@${MANAGER2}>`);
    expect(await auditActions(id)).toEqual(['request.filed']);
  });

  it('refuses self-approval and a non-approver, changing nothing', async () => {
    const id = await requestRole(DAVE, 'billing');
    expect(await clickReply(DAVE, 'approval_approve', id)).toContain('cannot approve or deny your own request');
    expect(await clickReply(BOB, 'approval_approve', id)).toContain('not an approver of this request');
    expect(await clickReply(BOB, 'approval_deny', id)).toContain('not an approver of this request');
    expect(await clickReply(MANAGER, 'approval_approve', 'not-a-uuid')).toContain('does not exist');
    expect(await statusOf(id)).toBe('pending_approval');
    expect(await auditActions(id)).toEqual(['request.filed']);
    const warnings = logLines.filter((line) => line.level === 40 && line.userId === BOB && line.activationId === id);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
  });

  it('approve activates: requester DM, security post, updated approver messages', async () => {
    const [row] = await app.sql<{ id: string }[]>`select id from activations where user_id = ${ALICE} and status = 'pending_approval'`;
    const id = row?.id ?? '';
    expect(await clickReply(MANAGER, 'approval_approve', id)).toContain('You approved');
    expect(await statusOf(id)).toBe('active');

    const dm = await fake.waitFor('chat.postMessage', (call) => call.body.channel === ALICE && messageText(call.body).includes('is active for you'));
    expect(messageText(dm.body)).toContain(`Approved by <@${MANAGER}>`);
    const post = await fake.waitFor('chat.postMessage', (call) => call.body.channel === SECURITY_CHANNEL && messageText(call.body).includes(`<@${ALICE}> activated`));
    expect(messageText(post.body)).toContain(`<@${MANAGER}>`);

    const updates = await eventually(async () => (updatesOf(id).length >= 2 ? updatesOf(id) : undefined));
    for (const update of updates) {
      expect(messageText(update.body)).toContain(`Approved by <@${MANAGER}>`);
      expect(hasButtons(update)).toBe(false);
    }
    expect(await auditActions(id)).toEqual(['request.filed', 'request.approved']);
  });

  it('a late click gets an explanation and changes nothing', async () => {
    const [row] = await app.sql<{ id: string }[]>`select id from activations where user_id = ${ALICE} and status = 'active'`;
    const id = row?.id ?? '';
    expect(await clickReply(MANAGER2, 'approval_approve', id)).toContain(`already approved by <@${MANAGER}>`);
    expect(await clickReply(MANAGER2, 'approval_deny', id)).toContain('already approved');
    expect(await auditActions(id)).toEqual(['request.filed', 'request.approved']);
  });

  it('concurrent approves and a redelivered click record one decision', async () => {
    const id = (await app.sql<{ id: string }[]>`select id from activations where user_id = ${DAVE} and status = 'pending_approval'`)[0]?.id ?? '';
    const clicks = await Promise.all([
      click(MANAGER, 'approval_approve', id),
      click(MANAGER2, 'approval_approve', id),
      click(MANAGER, 'approval_approve', id),
      click(MANAGER2, 'approval_approve', id),
    ]);
    // A click is applied after its ack and replies when it is done, so a second decision would
    // be on record once every click has replied.
    const replies = await Promise.all(
      clicks.map(async (result) => messageText((await fake.waitFor('response_url', (call) => call.url === result.responseUrl)).body)),
    );
    expect(replies.filter((reply) => reply.includes('You approved'))).toHaveLength(1);
    expect(await statusOf(id)).toBe('active');
    const actions = await auditActions(id);
    expect(actions.filter((action) => action === 'request.approved')).toHaveLength(1);
    expect(actions.filter((action) => action === 'activation.activated')).toHaveLength(0);
  });

  it('an approve racing a deny records exactly one decision', async () => {
    const id = await requestRole(EVE, 'billing');
    await approvalDmTo(MANAGER2, id);
    await click(MANAGER2, 'approval_deny', id);
    await fake.waitFor('views.open', (call) => (call.body.view as { private_metadata?: string }).private_metadata === id);
    const [approval, denial] = await Promise.all([
      click(MANAGER, 'approval_approve', id),
      app.sender.submitView(MANAGER2, { values: { reason: { value: { type: 'plain_text_input', value: 'Not during the freeze' } } } }),
    ]);
    expect(denial.status).toBe(200);
    // The deny is applied before its ack and the approve after its ack, so the approve's reply
    // marks its end.
    await fake.waitFor('response_url', (call) => call.url === approval.responseUrl);
    const decisions = (await auditActions(id)).filter((action) => action === 'request.approved' || action === 'request.denied');
    expect(decisions).toHaveLength(1);
    const status = await statusOf(id);
    expect(status === 'active' || status === 'denied').toBe(true);
  });

  it('a DM sent mid-decision loses buttons', async () => {
    // MANAGER2's DM is held before Slack records it, and MANAGER approves meanwhile, so the
    // decision's update of every recorded DM runs before MANAGER2's DM is on record.
    const id = await approveWhileDmHeld(HEIDI, MANAGER2);

    const update = await eventually(async () => updatesOf(id).find((call) => call.body.channel === dmChannelIdFor(MANAGER2)));
    expect(messageText(update.body)).toContain(`Approved by <@${MANAGER}>`);
    expect(hasButtons(update)).toBe(false);
  });
});

describe('denial, cancellation and timeout', () => {
  it('deny asks for a reason, then tells the requester', async () => {
    const id = await requestRole(BOB, 'billing');
    await approvalDmTo(MANAGER, id);
    await click(MANAGER, 'approval_deny', id);
    const modal = await fake.waitFor('views.open', (call) => (call.body.view as { private_metadata?: string }).private_metadata === id);
    expect(messageText(modal.body.view as Record<string, unknown>)).toContain('Deny');

    const empty = await app.sender.submitView(MANAGER, { values: { reason: { value: { type: 'plain_text_input', value: '  ' } } } });
    expect((empty.json as { errors: Record<string, string> }).errors.reason).toContain('reason');
    expect(await statusOf(id)).toBe('pending_approval');

    const done = await app.sender.submitView(MANAGER, { values: { reason: { value: { type: 'plain_text_input', value: 'Use the read-only role' } } } });
    expect(done.body).toBe('');
    expect(await statusOf(id)).toBe('denied');
    const dm = await fake.waitFor('chat.postMessage', (call) => call.body.channel === BOB && messageText(call.body).includes('denied your request'));
    expect(messageText(dm.body)).toContain('Use the read-only role');
    const updates = await eventually(async () => (updatesOf(id).length >= 2 ? updatesOf(id) : undefined));
    expect(messageText(updates[0]!.body)).toContain(`Denied by <@${MANAGER}>`);
    expect(await auditActions(id)).toEqual(['request.filed', 'request.denied']);
  });

  it('the requester cancels by command and by button', async () => {
    const first = await requestRole(CAROL, 'billing');
    expect(await command(CAROL, 'cancel')).toContain('You cancelled your request for *Billing Administrator*');
    expect(await statusOf(first)).toBe('cancelled');
    await eventually(async () => (updatesOf(first).length >= 2 ? true : undefined));

    const second = await requestRole(CAROL, 'billing');
    expect(await clickReply(MANAGER, 'request_cancel', second)).toContain('Only the person who made a request can cancel it');
    expect(await clickReply(CAROL, 'request_cancel', second)).toContain('You cancelled');
    expect(await statusOf(second)).toBe('cancelled');
    expect(await auditActions(second)).toEqual(['request.filed', 'request.cancelled']);
  });

  it('an undecided request times out and approvers see it', async () => {
    const id = await requestRole(CAROL, 'billing');
    await approvalDmTo(MANAGER, id);
    app.clock.advance(24 * 60 * 60_000 + 1_000);
    try {
      await sweepDueRequests(app.runtime.context, app.runtime.context.logger);
    } finally {
      app.clock.offsetMs = 0;
    }
    expect(await statusOf(id)).toBe('timed_out');
    await fake.waitFor('chat.postMessage', (call) => call.body.channel === CAROL && messageText(call.body).includes('timed out'));
    const updates = await eventually(async () => (updatesOf(id).length >= 2 ? updatesOf(id) : undefined));
    expect(messageText(updates[0]!.body)).toContain('Timed out');
    expect(await auditActions(id)).toEqual(['request.filed', 'request.timed_out']);
  });

  it('reminds approvers after 15 minutes, then 30 minutes later', async () => {
    const id = await requestRole(FRANK, 'user-administrator');
    const [row] = await app.sql<{ requested_at: Date; next_reminder_at: Date }[]>`
      select requested_at, next_reminder_at from activations where id = ${id}`;
    const requestedAt = row?.requested_at.getTime() ?? 0;
    expect(row?.next_reminder_at.getTime()).toBe(requestedAt + 15 * 60_000);

    const reminders = () => fake.messagesTo(ADMIN).filter((call) => messageText(call.body).includes('Reminder:'));
    const sweepAt = async (minutes: number) => {
      app.clock.offsetMs = requestedAt + minutes * 60_000 - Date.now();
      try {
        await sweepDueRequests(app.runtime.context, app.runtime.context.logger);
      } finally {
        app.clock.offsetMs = 0;
      }
    };
    // The sweep records a reminder in its own transaction, and the DM follows through the outbox,
    // so the audit trail shows at once a reminder sent too early.
    const recordedReminders = async () => (await auditActions(id)).filter((action) => action === 'request.reminded').length;
    await sweepAt(14);
    expect(await recordedReminders()).toBe(0);
    expect(reminders()).toHaveLength(0);
    await sweepAt(15);
    await eventually(async () => (reminders().length === 1 ? true : undefined));
    const [next] = await app.sql<{ next_reminder_at: Date; reminders_sent: number }[]>`
      select next_reminder_at, reminders_sent from activations where id = ${id}`;
    expect(next?.reminders_sent).toBe(1);
    expect(next?.next_reminder_at.getTime()).toBe(requestedAt + 45 * 60_000);
    await sweepAt(44);
    expect(await recordedReminders()).toBe(1);
    await sweepAt(45);
    await eventually(async () => (reminders().length === 2 ? true : undefined));
    expect((await auditActions(id)).filter((action) => action === 'request.reminded')).toHaveLength(2);
  });
});

describe('approvers', () => {
  it('with none configured, the active administrators approve', async () => {
    const id = (await app.sql<{ id: string }[]>`select id from activations where user_id = ${FRANK} and status = 'pending_approval'`)[0]?.id ?? '';
    const dm = await approvalDmTo(ADMIN, id);
    expect(hasButtons(dm)).toBe(true);
  });

  it('user-group members are resolved through usergroups.users.list, without the requester', async () => {
    const id = await requestRole(FRANK, 'password');
    expect(fake.calls('usergroups.users.list').some((call) => call.body.usergroup === APPROVER_GROUP)).toBe(true);
    await approvalDmTo(GROUP_MEMBER, id);
    const [approvers] = await app.sql<{ ids: string[] }[]>`
      select array_agg(approver_id order by approver_id) as ids from approval_approvers where activation_id = ${id}`;
    expect(approvers?.ids).toEqual([GROUP_MEMBER]);
  });

  it('a requester who is the sole approver is refused at once, with nothing recorded', async () => {
    const reply = await command(GRACE, 'activate service 1h deploy');
    expect(reply).toContain('nobody other than you can approve it');
    expect(await app.sql`select 1 from activations where user_id = ${GRACE}`).toHaveLength(0);
  });

  it('/pim requests lists what waits for me with buttons', async () => {
    const id = await requestRole(GRACE, 'billing');
    const result = await app.sender.command(MANAGER, 'requests');
    const call = await fake.waitFor('response_url', (candidate) => candidate.url === result.responseUrl);
    expect(messageText(call.body)).toContain(`<@${GRACE}> requests *Billing Administrator*`);
    expect(JSON.stringify(call.body.blocks)).toContain(id);
    expect(await command(GRACE, 'requests')).toContain('No requests are waiting');
  });
});

describe('recent activations in the approval DM', () => {
  it('lists started activations with their real length', async () => {
    const now = app.clock.now().getTime();
    const [assignment] = await app.sql<{ id: string; role_id: string }[]>`
      select a.id, a.role_id from assignments a join roles r on r.id = a.role_id
      where a.user_id = ${IVAN} and r.slug like 'billing%' and a.kind = 'eligible' and a.status = 'current'`;
    const minute = 60_000;
    const day = 24 * 60 * minute;
    // status, start (ms before now), planned minutes, end (ms after the start, or null)
    const rows: [string, number, number, number | null][] = [
      ['deactivated', 2 * day, 120, 3 * minute],
      // The sweep records an expiry a little after the planned end.
      ['expired', 5 * day, 60, 60 * minute + 30_000],
      ['denied', 1 * day, 240, null],
      ['timed_out', 3 * day, 240, null],
      ['cancelled', 4 * day, 240, null],
      ['expired', 40 * day, 180, 180 * minute],
    ];
    for (const [status, startsAgo, minutes, endedAfter] of rows) {
      const startsAt = new Date(now - startsAgo);
      await app.sql`
        insert into activations (role_id, user_id, assignment_id, status, requested_at, starts_at, ends_at, duration_minutes, ended_at)
        values (${assignment?.role_id ?? ''}, ${IVAN}, ${assignment?.id ?? ''}, ${status}, ${startsAt}, ${startsAt},
          ${new Date(startsAt.getTime() + minutes * minute)}, ${minutes},
          ${endedAfter === null ? null : new Date(startsAt.getTime() + endedAfter)})`;
    }

    const id = await requestRole(IVAN, 'billing');
    const text = messageText((await approvalDmTo(MANAGER, id)).body);

    expect(text).toContain('Activations started, last 30 days');
    expect(text).toContain('2 activations:');
    expect(text).toContain('(lasted 3 minutes)');
    expect(text).toContain('(lasted 1 hour)');
    expect(text).not.toContain('2 hours');
    expect(text).not.toContain('4 hours');
    expect(text).not.toContain('3 hours');
    expect(await command(IVAN, 'cancel')).toContain('You cancelled');
  });
});

describe('approval DM updates', () => {
  it('a deleted DM fails alone and at once', async () => {
    const id = await requestRole(IVAN, 'billing');
    await approvalDmTo(MANAGER, id);
    await approvalDmTo(MANAGER2, id);
    // The same read as the update's walk, so the deleted DM is the first one it meets.
    const copies = await eventually(async () => {
      const rows = await app.sql<{ approver_id: string; channel_id: string; ts: string }[]>`
        select approver_id, channel_id, ts from approval_messages where activation_id = ${id}`;
      return rows.length === 2 ? rows : undefined;
    });
    const [gone, kept] = copies;
    if (gone === undefined || kept === undefined) throw new Error('expected two approval DMs');
    expect(fake.standIn.api.dispatch('chat.delete', { channel: gone.channel_id, ts: gone.ts }).body).toMatchObject({ ok: true });

    expect(await clickReply(kept.approver_id, 'approval_approve', id)).toContain('You approved');

    const row = await eventually(async () => {
      const [outbox] = await app.sql<{ attempts: number; last_error: string | null; failed_at: Date | null }[]>`
        select attempts, last_error, failed_at from outbox
        where kind = 'approval_update' and payload->>'activationId' = ${id}`;
      return outbox?.failed_at === null ? undefined : outbox;
    });
    expect(row.attempts).toBe(1);
    expect(row.last_error).toContain('message_not_found');
    const keptUpdates = updatesOf(id).filter((call) => call.body.channel === kept.channel_id);
    expect(keptUpdates).toHaveLength(1);
    expect(messageText(keptUpdates[0]!.body)).toContain(`Approved by <@${kept.approver_id}>`);
    expect(hasButtons(keptUpdates[0]!)).toBe(false);
  });
});

function settingsValues(input: { maxDuration?: string; groups?: string; eligibleDays?: string; approvers?: string[] }) {
  const option = (value: string) => ({ value, text: { type: 'plain_text', text: value } });
  return {
    max_duration: { value: { type: 'plain_text_input', value: input.maxDuration ?? '8h' } },
    activation_rules: {
      value: { type: 'checkboxes', selected_options: [option('requireJustification'), option('requireApproval')] },
    },
    approver_users: { value: { type: 'multi_users_select', selected_users: input.approvers ?? [] } },
    approver_groups: { value: { type: 'plain_text_input', value: input.groups ?? '' } },
    pending_timeout: { value: { type: 'plain_text_input', value: '24h' } },
    assignment_rules: { value: { type: 'checkboxes', selected_options: [option('allowPermanentEligible')] } },
    eligible_days: { value: { type: 'number_input', value: input.eligibleDays ?? '365' } },
    active_days: { value: { type: 'number_input', value: '180' } },
    notifications: {
      value: { type: 'checkboxes', selected_options: [option('postActivationsToSecurityChannel'), option('notifyAssignee')] },
    },
  };
}

describe('settings enforcement', () => {
  it('a role requiring a ticket opens the form and rejects a missing ticket', async () => {
    await configure('service', { requireApproval: false, requireTicket: true });
    const opened = await app.sender.command(BOB, 'activate service 1h fixing the deploy');
    const call = await fake.waitFor('views.open', (candidate) => candidate.body.trigger_id === opened.triggerId);
    expect(JSON.stringify(call.body.view)).toContain('ticket_number');

    const values = (ticketNumber: string) => ({
      role: { value: { type: 'static_select', selected_option: { value: 'service-administrator' } } },
      duration: { value: { type: 'plain_text_input', value: '1h' } },
      justification: { value: { type: 'plain_text_input', value: 'fixing the deploy' } },
      ticket_system: { value: { type: 'plain_text_input', value: 'Jira' } },
      ticket_number: { value: { type: 'plain_text_input', value: ticketNumber } },
    });
    const missing = await app.sender.submitView(BOB, { values: values('') });
    expect((missing.json as { errors: Record<string, string> }).errors.ticket_number).toContain('requires a ticket');

    const done = await app.sender.submitView(BOB, { values: values('OPS-12') });
    expect(done.body).toBe('');
    const post = await fake.waitFor('chat.postMessage', (candidate) => candidate.body.channel === SECURITY_CHANNEL && messageText(candidate.body).includes(`<@${BOB}> activated`));
    expect(messageText(post.body)).toContain('Jira OPS-12');
  });

  it('active assignments need a reason and end after the allowed days', async () => {
    expect(await command(ADMIN, `assign <@${GRACE}> password active`)).toContain('requires a reason for active assignments');
    expect(await command(ADMIN, `assign <@${GRACE}> password active until 2099-01-01 incident`)).toContain('at most 180 days');
    await command(ADMIN, `assign <@${GRACE}> password active incident bridge`);
    const [row] = await app.sql<{ changed_at: Date; ends_at: Date }[]>`
      select e.occurred_at as changed_at, a.ends_at from assignments a
        join roles r on r.id = a.role_id
        join audit_events e on e.target_id = a.id::text and e.action = 'assignment.updated'
      where a.user_id = ${GRACE} and r.slug = 'password-administrator' and a.status = 'current'`;
    // The end counts from the change that made the assignment active.
    expect((row?.ends_at.getTime() ?? 0) - (row?.changed_at.getTime() ?? 0)).toBe(180 * 24 * 60 * 60_000);
  });
});

describe("requester's waiting DM", () => {
  // The DM is on record before the request closes, so the rewrite comes from the close itself.
  async function filedWithWaitingDm(userId: string): Promise<string> {
    const id = await requestRole(userId, 'billing');
    await recordedWaitingDm(app, id);
    await approvalDmTo(MANAGER, id);
    return id;
  }

  it('loses its Cancel button on approve', async () => {
    const id = await filedWithWaitingDm(JUDY);
    expect(await clickReply(MANAGER, 'approval_approve', id)).toContain('You approved');

    const update = await waitingDmRewrite(app, id, 'was approved');
    expect(messageText(update.body)).toContain(`Your request for *Billing Administrator* was approved by <@${MANAGER}>`);
    expect(hasCancelButton(update)).toBe(false);
  });

  it('loses its Cancel button on deny', async () => {
    const id = await filedWithWaitingDm(KEN);
    await click(MANAGER, 'approval_deny', id);
    await fake.waitFor('views.open', (call) => (call.body.view as { private_metadata?: string }).private_metadata === id);
    await app.sender.submitView(MANAGER, { values: { reason: { value: { type: 'plain_text_input', value: 'Ask again after the audit' } } } });

    const update = await waitingDmRewrite(app, id, 'was denied');
    expect(messageText(update.body)).toContain(`Your request for *Billing Administrator* was denied by <@${MANAGER}>`);
    expect(hasCancelButton(update)).toBe(false);
  });

  it('loses its Cancel button when the requester cancels', async () => {
    const id = await filedWithWaitingDm(LEO);
    expect(await clickReply(LEO, 'request_cancel', id)).toContain('You cancelled');

    const update = await waitingDmRewrite(app, id, 'You cancelled your request');
    expect(messageText(update.body)).toContain('You cancelled your request for *Billing Administrator*');
    expect(hasCancelButton(update)).toBe(false);
    // A later click on the old button, replayed, still changes nothing.
    expect(await clickReply(LEO, 'request_cancel', id)).toContain('already cancelled');
  });

  it('loses its Cancel button on timeout', async () => {
    const id = await filedWithWaitingDm(MIA);
    app.clock.advance(24 * 60 * 60_000 + 1_000);
    try {
      await sweepDueRequests(app.runtime.context, app.runtime.context.logger);
    } finally {
      app.clock.offsetMs = 0;
    }
    expect(await statusOf(id)).toBe('timed_out');

    const update = await waitingDmRewrite(app, id, 'timed out');
    expect(messageText(update.body)).toContain('Your request for *Billing Administrator* timed out');
    expect(messageText(update.body)).toContain('nobody decided in time');
    expect(hasCancelButton(update)).toBe(false);
  });

  it('sent mid-decision is rewritten after it lands', async () => {
    // The waiting DM is held before Slack records it, and MANAGER approves meanwhile, so the
    // decision's rewrite of every recorded DM runs before the waiting DM is on record.
    const id = await approveWhileDmHeld(NED, NED);

    const posted = await fake.waitFor('chat.postMessage', (call) => call.body.channel === NED && messageText(call.body).includes('waiting for approval'));
    expect(hasCancelButton(posted)).toBe(true);
    const update = await waitingDmRewrite(app, id, 'was approved');
    expect(hasCancelButton(update)).toBe(false);
  });
});

/**
 * Files a billing request and holds its DM to `heldChannel` before Slack records it, while
 * MANAGER approves and the decision's update of the recorded DMs runs. Releases the DM, then
 * returns the request's id.
 */
async function approveWhileDmHeld(requesterId: string, heldChannel: string): Promise<string> {
  const heldDm = fake.holdNext('chat.postMessage', (args) => args.channel === heldChannel);
  const id = await requestRole(requesterId, 'billing');
  await heldDm.arrived;
  await approvalDmTo(MANAGER, id);
  expect(await clickReply(MANAGER, 'approval_approve', id)).toContain('You approved');
  await eventually(async () => (updatesOf(id).some((call) => call.body.channel === dmChannelIdFor(MANAGER)) ? true : undefined));

  heldDm.release();
  return id;
}
