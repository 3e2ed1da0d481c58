import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepDueRequests } from '../../src/jobs/sweep.js';
import type { RoleSettings } from '../../src/domain/role-settings.js';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  messageText,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';
import {
  activationStatus,
  changeUserGroup,
  clickDecision,
  commandReply,
  configureRole,
  decisionReply,
  disableUserGroup,
  hasCancelButton,
  interleaveAtAuditLock,
  recordedWaitingDm,
  sendUserGroupEvent,
  waitingDmRewrite,
} from '../support/flows.js';
import { subteamUpdated } from '../support/slack-requests.js';

// An administrator removes an approver they no longer trust while a request sent to them waits.
const ADMIN = 'UADMINRM1';
const FORMER_ADMIN = 'UADMINRM2';
const DISTRUSTED = 'UAPPRRM01';
const KEPT = 'UAPPRRM02';
const REQUESTER = 'UREQRM001';
const GROUP = 'SAPPRRM01';
const GROUP_LEAVER = 'UAPPRRM03';
const GROUP_STAYER = 'UAPPRRM04';
const KEPT_GROUP = 'SAPPRRM03';
const DELETED_GROUP = 'SAPPRRM04';
const SLOW_GROUP = 'SAPPRRM02';
const GROUP_DENIER = 'UAPPRRM05';
// Slack shows an error in a modal whose view_submission is not acknowledged within 3 seconds.
const VIEW_SUBMISSION_ACK_MS = 3_000;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [ADMIN, FORMER_ADMIN, DISTRUSTED, KEPT, REQUESTER, GROUP_LEAVER, GROUP_STAYER, GROUP_DENIER]) fake.setUser({ id, tz: 'UTC' });
  app = await startTestApp({ environment, fake, admins: [ADMIN, FORMER_ADMIN] });
  await configure('billing', { requireApproval: true, approvers: { users: [DISTRUSTED, KEPT], groups: [] } });
  // Names no approvers, so the active Privileged Role Administrators are the approvers.
  await configure('service', { requireApproval: true, approvers: { users: [], groups: [] } });
  await configure('user-administrator', { requireApproval: true, approvers: { users: [DISTRUSTED], groups: [] } });
  await configure('password', { requireApproval: true, approvers: { users: [DISTRUSTED, KEPT], groups: [] } });
  for (const role of ['billing', 'service', 'user-administrator', 'password']) {
    expect(await command(ADMIN, `assign <@${REQUESTER}> ${role} eligible`)).toContain('is now eligible');
  }
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

const configure = (slug: string, change: Partial<RoleSettings>) => configureRole(app, ADMIN, slug, change);

const command = (userId: string, text: string) => commandReply(app, userId, text);

const clickReply = (userId: string, actionId: string, activationId: string) =>
  decisionReply(app, userId, actionId, activationId);

const statusOf = (activationId: string) => activationStatus(app, activationId);

describe('approver removed from the role', () => {
  it('can no longer decide a filed request', async () => {
    expect(await command(REQUESTER, 'activate billing 1h month-end close')).toContain('waiting for approval');
    const [row] = await app.sql<{ id: string; requested_at: Date }[]>`
      select id, requested_at from activations where user_id = ${REQUESTER} and status = 'pending_approval'`;
    if (row === undefined) throw new Error('no pending request');
    await configure('billing', { approvers: { users: [KEPT], groups: [] } });

    expect(await clickReply(DISTRUSTED, 'approval_approve', row.id)).toContain('no longer an approver');
    expect(await clickReply(DISTRUSTED, 'approval_deny', row.id)).toContain('no longer an approver');
    expect(await statusOf(row.id)).toBe('pending_approval');
    expect(await command(DISTRUSTED, 'requests')).toContain('No requests are waiting');
    expect(await command(KEPT, 'requests')).toContain('1 request(s) waiting for you');

    // The 15-minute reminder goes only to the approver who is still one.
    app.clock.offsetMs = row.requested_at.getTime() + 15 * 60_000 - Date.now();
    try {
      await sweepDueRequests(app.runtime.context, app.runtime.context.logger);
    } finally {
      app.clock.offsetMs = 0;
    }
    await eventually(async () => (reminderTo(KEPT).length === 1 ? true : undefined));
    expect(reminderTo(DISTRUSTED)).toHaveLength(0);

    expect(await clickReply(KEPT, 'approval_approve', row.id)).toContain('You approved');
    expect(await statusOf(row.id)).toBe('active');
  });

  it('inactive administrator sees no requests', async () => {
    expect(await command(REQUESTER, 'activate service 1h deploy fix')).toContain('waiting for approval');
    expect(await command(FORMER_ADMIN, 'requests')).toContain('1 request(s) waiting for you');

    expect(await command(ADMIN, `assign <@${FORMER_ADMIN}> privileged-role-administrator eligible stepping back`)).toContain(
      'is now instead eligible',
    );
    expect(await command(FORMER_ADMIN, 'requests')).toContain('No requests are waiting');
    expect(await command(ADMIN, 'requests')).toContain('1 request(s) waiting for you');

    // Reminders follow the lists: the administrator whose role is no longer active gets none.
    const id = await pendingId('service');
    const [row] = await app.sql<{ requested_at: Date }[]>`select requested_at from activations where id = ${id}`;
    app.clock.offsetMs = (row?.requested_at.getTime() ?? 0) + 15 * 60_000 - Date.now();
    try {
      await sweepDueRequests(app.runtime.context, app.runtime.context.logger);
    } finally {
      app.clock.offsetMs = 0;
    }
    await eventually(async () => (reminderTo(ADMIN).length === 1 ? true : undefined));
    expect(reminderTo(FORMER_ADMIN)).toHaveLength(0);

    // Past its decision window a request leaves the lists, even before the sweep closes it.
    app.clock.offsetMs = 24 * 60 * 60_000 + 60_000;
    try {
      expect(await command(ADMIN, 'requests')).toContain('No requests are waiting');
    } finally {
      app.clock.offsetMs = 0;
    }
  });

  it('cancels a request without approvers', async () => {
    expect(await command(REQUESTER, 'activate user-administrator 1h onboarding')).toContain('waiting for approval');
    const id = await pendingId('user-administrator');
    await recordedWaitingDm(app, id);
    await configure('user-administrator', { approvers: { users: [KEPT], groups: [] } });

    expect(await statusOf(id)).toBe('cancelled');
    const actions = await app.sql<{ action: string }[]>`
      select action from audit_events where action in ('role.settings_updated', 'request.cancelled') order by id desc limit 2`;
    expect(actions.map((event) => event.action)).toEqual(['request.cancelled', 'role.settings_updated']);
    const told = await eventually(async () =>
      fake.messagesTo(REQUESTER).map((call) => messageText(call.body)).find((text) => text.includes('approvers of User Administrator changed')),
    );
    expect(told).toContain('request it again');
    const rewrite = await waitingDmRewrite(app, id, 'was cancelled');
    expect(messageText(rewrite.body)).toContain(`Your request for *User Administrator* was cancelled by <@${ADMIN}>`);
    expect(hasCancelButton(rewrite)).toBe(false);
    expect(await command(REQUESTER, 'activate user-administrator 1h onboarding')).toContain('waiting for approval');
    expect(await clickReply(KEPT, 'approval_approve', await pendingId('user-administrator'))).toContain('You approved');
  });

  it('refuses a decision racing the removal', async () => {
    expect(await command(REQUESTER, 'activate password 1h reset run')).toContain('waiting for approval');
    const id = await pendingId('password');
    const [, approve] = await interleaveAtAuditLock(
      app,
      () => configure('password', { approvers: { users: [KEPT], groups: [] } }),
      () => clickReply(DISTRUSTED, 'approval_approve', id),
    );
    expect(approve).toContain('no longer an approver');
    expect(await statusOf(id)).toBe('pending_approval');
  });
});

function reminderTo(userId: string) {
  return fake.messagesTo(userId).filter((call) => messageText(call.body).includes('Reminder:'));
}

/** Clicks Deny and waits for the form it opens. */
async function openDenyForm(userId: string, activationId: string): Promise<void> {
  await clickDecision(app, userId, 'approval_deny', activationId);
  await fake.waitFor('views.open', (call) => (call.body.view as { private_metadata?: string }).private_metadata === activationId);
}

/** Submits the deny form while Slack lists the group's members only after the ack budget. */
async function submitDenialWhileSlackListsSlowly() {
  // A rename in Slack drops the group's cached members too, so the submission calls Slack.
  await sendUserGroupEvent(app, subteamUpdated(SLOW_GROUP, fake.standIn.workspace.userGroup(SLOW_GROUP)?.memberIds ?? []));
  const heldList = fake.holdNext('usergroups.users.list');
  const submitting = app.sender.submitView(GROUP_DENIER, {
    values: { reason: { value: { type: 'plain_text_input', value: 'not during the freeze' } } },
  });
  await heldList.arrived;
  setTimeout(() => heldList.release(), VIEW_SUBMISSION_ACK_MS + 500);
  return submitting;
}

async function pendingId(slug: string): Promise<string> {
  const [row] = await app.sql<{ id: string }[]>`
    select v.id from activations v join roles r on r.id = v.role_id
    where v.user_id = ${REQUESTER} and r.slug like ${`${slug}%`} and v.status = 'pending_approval'`;
  if (row === undefined) throw new Error(`no pending request for ${slug}`);
  return row.id;
}

describe('member removed from an approver group', () => {
  it('decides with current Slack members', async () => {
    fake.setUserGroup(GROUP, [GROUP_LEAVER, GROUP_STAYER]);
    await configure('security-administrator', { requireApproval: true, approvers: { users: [], groups: [GROUP] } });
    expect(await command(ADMIN, `assign <@${REQUESTER}> security-administrator eligible`)).toContain('is now eligible');
    expect(await command(REQUESTER, 'activate security-administrator 1h incident review')).toContain('waiting for approval');
    const [row] = await app.sql<{ id: string }[]>`
      select a.id from activations a join roles r on r.id = a.role_id
      where a.user_id = ${REQUESTER} and a.status = 'pending_approval' and r.slug = 'security-administrator'`;
    if (row === undefined) throw new Error('no pending request');
    await changeUserGroup(app, GROUP, [GROUP_STAYER]);

    expect(await clickReply(GROUP_LEAVER, 'approval_approve', row.id)).toContain('no longer in an approver group');
    // Deny opens its form without calling Slack, which could outlast the trigger. The form's
    // submission reads the groups and rejects the denial.
    const listsBefore = fake.calls('usergroups.users.list').length;
    await openDenyForm(GROUP_LEAVER, row.id);
    expect(fake.calls('usergroups.users.list')).toHaveLength(listsBefore);
    const refused = await app.sender.submitView(GROUP_LEAVER, {
      values: { reason: { value: { type: 'plain_text_input', value: 'not now' } } },
    });
    expect(refused.body).toContain('no longer in an approver group');
    expect(await statusOf(row.id)).toBe('pending_approval');

    // A member still in the group cannot decide while Slack cannot list it, and can after. A
    // rename drops the cached members, so the decision calls Slack.
    await sendUserGroupEvent(app, subteamUpdated(GROUP, [GROUP_STAYER]));
    fake.failNext('usergroups.users.list', { error: 'fatal_error' });

    expect(await clickReply(GROUP_STAYER, 'approval_approve', row.id)).toContain('could not check with Slack');
    expect(await statusOf(row.id)).toBe('pending_approval');
    expect(await clickReply(GROUP_STAYER, 'approval_approve', row.id)).toContain('You approved');
    expect(await statusOf(row.id)).toBe('active');
  });
});

describe('approver group deleted in Slack', () => {
  it('counts as empty for deciding', async () => {
    fake.setUserGroup(KEPT_GROUP, [GROUP_STAYER]);
    fake.setUserGroup(DELETED_GROUP, [GROUP_LEAVER]);
    await configure('password', { requireApproval: true, approvers: { users: [], groups: [KEPT_GROUP, DELETED_GROUP] } });
    expect(await command(REQUESTER, 'activate password 1h rotate keys')).toContain('waiting for approval');
    const id = await pendingId('password');
    await disableUserGroup(app, DELETED_GROUP);

    expect(await clickReply(GROUP_LEAVER, 'approval_approve', id)).toContain('no longer in an approver group');
    expect(await clickReply(GROUP_STAYER, 'approval_approve', id)).toContain('You approved');
    expect(await statusOf(id)).toBe('active');
  });
});

describe('group member denying', () => {
  it('acks the reason while Slack lists slowly', async () => {
    fake.setUserGroup(SLOW_GROUP, [GROUP_DENIER]);
    await configure('global', { requireApproval: true, approvers: { users: [], groups: [SLOW_GROUP] } });
    expect(await command(ADMIN, `assign <@${REQUESTER}> global eligible`)).toContain('is now eligible');
    expect(await command(REQUESTER, 'activate global 1h incident review')).toContain('waiting for approval');
    const id = await pendingId('global');
    await openDenyForm(GROUP_DENIER, id);

    const submitted = await submitDenialWhileSlackListsSlowly();
    // Checked once the held call went through, so that the denial ends within the test.
    await eventually(async () => ((await statusOf(id)) === 'denied' ? true : undefined));

    expect(submitted.status).toBe(200);
    expect(submitted.elapsedMs).toBeLessThan(VIEW_SUBMISSION_ACK_MS);
  });

  it('sends a late refusal by DM', async () => {
    expect(await command(REQUESTER, 'activate global 1h incident review')).toContain('waiting for approval');
    const id = await pendingId('global');
    await openDenyForm(GROUP_DENIER, id);
    await changeUserGroup(app, SLOW_GROUP, []);

    const submitted = await submitDenialWhileSlackListsSlowly();
    const dm = await fake.waitFor(
      'chat.postMessage',
      (call) => call.body.channel === GROUP_DENIER && messageText(call.body).includes('did not go through'),
    );

    expect(submitted.status).toBe(200);
    expect(submitted.elapsedMs).toBeLessThan(VIEW_SUBMISSION_ACK_MS);
    expect(messageText(dm.body)).toContain('no longer in an approver group');
    expect(await statusOf(id)).toBe('pending_approval');
  });
});
