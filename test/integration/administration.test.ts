import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepDueAssignments } from '../../src/jobs/sweep.js';
import { createLogger } from '../../src/logger.js';
import { assignRole } from '../../src/services/assignments.js';
import { summarizeRoles } from '../../src/services/roles.js';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  eventually,
  messageText,
  replyTo,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';

const ADMIN = 'UADMIN07';
const SECADMIN = 'USECADM07';
const ELIGIBLE_PRA = 'UELIGPRA7';
const NOBODY = 'UNOBODY07';
const HOLDER = 'UHOLDER07';
const MANAGER = 'UMANAGER7';
const GONE = 'UGONE0007';
const DAY_MS = 24 * 60 * 60_000;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [ADMIN, SECADMIN, ELIGIBLE_PRA, NOBODY, HOLDER]) fake.setUser({ id, tz: 'UTC' });
  fake.setUser({ id: MANAGER, tz: 'UTC', email: 'manager@example.com' });
  fake.setUser({ id: GONE, tz: 'UTC', deleted: true });
  app = await startTestApp({ environment, fake, admins: [ADMIN], logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent') });
  expect(await command(ADMIN, `assign <@${SECADMIN}> security-administrator active audit duty`)).toContain('is now active');
  expect(await command(ADMIN, `assign <@${ELIGIBLE_PRA}> privileged-role-administrator eligible`)).toContain('is now eligible');
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

async function command(userId: string, text: string): Promise<string> {
  const result = await app.sender.command(userId, text);
  expect(result.status).toBe(200);
  return replyTo(fake, result.responseUrl);
}

function roleForm(userId: string, fields: { name: string; slug?: string; description?: string }, roleId = '') {
  return app.sender.submitView(userId, {
    callbackId: 'admin_role_form',
    privateMetadata: JSON.stringify({ roleId }),
    values: {
      name: { value: { type: 'plain_text_input', value: fields.name } },
      slug: { value: { type: 'plain_text_input', value: fields.slug ?? null } },
      description: { value: { type: 'plain_text_input', value: fields.description ?? null } },
    },
  });
}

function assignmentForm(userId: string, roleId: string, assigneeId: string, kind: 'eligible' | 'active') {
  return app.sender.submitView(userId, {
    callbackId: 'admin_assignment_form',
    privateMetadata: JSON.stringify({ roleId }),
    values: {
      user: { value: { type: 'users_select', selected_user: assigneeId } },
      kind: { value: { type: 'radio_buttons', selected_option: { value: kind } } },
      end_date: { value: { type: 'datepicker', selected_date: null } },
      reason: { value: { type: 'plain_text_input', value: 'needed for on-call' } },
    },
  });
}

async function roleIdOf(slug: string): Promise<string> {
  const [row] = await app.sql<{ id: string }[]>`select id from roles where slug = ${slug}`;
  if (row === undefined) throw new Error(`no role ${slug}`);
  return row.id;
}

async function auditCount(action: string, targetId?: string): Promise<number> {
  const [row] = targetId === undefined
    ? await app.sql<{ count: number }[]>`select count(*)::int as count from audit_events where action = ${action}`
    : await app.sql<{ count: number }[]>`select count(*)::int as count from audit_events where action = ${action} and target_id = ${targetId}`;
  return row?.count ?? 0;
}

function errorsOf(result: { json?: unknown }): string {
  return JSON.stringify((result.json as { errors?: unknown } | undefined)?.errors ?? result.json ?? '');
}

describe('roles', () => {
  it('create, edit and delete a custom role, each audited', async () => {
    const created = await roleForm(ADMIN, { name: 'Prod DB admin', description: 'Superuser on the production database' });
    expect(created.body).toBe('');
    const roleId = await roleIdOf('prod-db-admin');
    expect(await auditCount('role.created', roleId)).toBe(1);

    const edited = await roleForm(ADMIN, { name: 'Production DB admin', slug: 'prod-db-admin' }, roleId);
    expect(edited.body).toBe('');
    const [row] = await app.sql<{ name: string }[]>`select name from roles where id = ${roleId}`;
    expect(row?.name).toBe('Production DB admin');
    expect(await auditCount('role.updated', roleId)).toBe(1);

    const deleted = await app.sender.submitView(ADMIN, { callbackId: 'admin_delete_role', privateMetadata: JSON.stringify({ roleId }), values: {} });
    expect(deleted.json).toMatchObject({ response_action: 'clear' });
    const [gone] = await app.sql<{ deleted_at: Date | null }[]>`select deleted_at from roles where id = ${roleId}`;
    expect(gone?.deleted_at).not.toBeNull();
    expect(await auditCount('role.deleted', roleId)).toBe(1);
  });

  it('replayed creation is rejected on the name field', async () => {
    expect((await roleForm(ADMIN, { name: 'Replay role' })).body).toBe('');
    const again = await roleForm(ADMIN, { name: 'Replay role' });
    expect(errorsOf(again)).toContain('Another role already has this');
    expect(await auditCount('role.created', await roleIdOf('replay-role'))).toBe(1);
  });

  it('a built-in role or one with assignments cannot be deleted', async () => {
    const builtin = await app.sender.submitView(ADMIN, {
      callbackId: 'admin_delete_role',
      privateMetadata: JSON.stringify({ roleId: await roleIdOf('global-administrator') }),
      values: {},
    });
    expect(JSON.stringify(builtin.json)).toContain('built-in role');

    expect((await roleForm(ADMIN, { name: 'Held role' })).body).toBe('');
    const heldId = await roleIdOf('held-role');
    expect((await assignmentForm(ADMIN, heldId, HOLDER, 'eligible')).body).toBe('');
    const held = await app.sender.submitView(ADMIN, { callbackId: 'admin_delete_role', privateMetadata: JSON.stringify({ roleId: heldId }), values: {} });
    expect(JSON.stringify(held.json)).toContain('still has 1 assignment');
  });
});

describe('role summary', () => {
  it('counts holders in force', async () => {
    const now = app.clock.now();
    const at = (days: number) => new Date(now.getTime() + days * DAY_MS).toISOString();
    const [role] = await app.sql<{ id: string }[]>`
      insert into roles (slug, name, description, settings)
      values ('summary-counts', 'Summary counts', 'role whose holders are counted', '{}'::jsonb) returning id`;
    const roleId = role?.id ?? '';
    // user, kind, status, starts (days from now), ends (days from now, or null)
    const assignmentRows: [string, string, string, number, number | null][] = [
      ['USUM01', 'eligible', 'current', -1, null],
      ['USUM02', 'eligible', 'current', -1, 5],
      ['USUM03', 'eligible', 'current', 2, null],
      ['USUM04', 'eligible', 'current', -5, -1],
      ['USUM05', 'eligible', 'removed', -5, null],
      ['USUM06', 'active', 'current', -1, null],
      ['USUM07', 'active', 'current', -1, 5],
      ['USUM08', 'active', 'current', 2, null],
      ['USUM09', 'eligible', 'current', -1, null],
    ];
    for (const [userId, kind, status, starts, ends] of assignmentRows) {
      await app.sql`
        insert into assignments (role_id, user_id, kind, status, starts_at, ends_at, assigned_by)
        values (${roleId}, ${userId}, ${kind}, ${status}, ${at(starts)}, ${ends === null ? null : at(ends)}, ${ADMIN})`;
    }
    // user, status, ends (days from now)
    const activationRows: [string, string, number][] = [
      ['USUM01', 'active', 1],
      ['USUM02', 'expired', -1],
      ['USUM06', 'active', 1],
      ['USUM09', 'active', -1],
    ];
    for (const [userId, status, ends] of activationRows) {
      await app.sql`
        insert into activations (role_id, user_id, assignment_id, status, requested_at, starts_at, ends_at, duration_minutes)
        select ${roleId}, ${userId}, id, ${status}, ${at(-2)}, ${at(-2)}, ${at(ends)}, 60
        from assignments where role_id = ${roleId} and user_id = ${userId}`;
    }

    const summary = (await summarizeRoles(app.runtime.context.db, now)).find((candidate) => candidate.id === roleId);

    // Eligible in force: USUM01, USUM02 and USUM09.
    expect(summary?.eligibleCount).toBe(3);
    // Active assignments in force (USUM06, USUM07) and running activations (USUM01). USUM06 has
    // both and counts once.
    expect(summary?.activeCount).toBe(3);
    // Current active assignments without an end, started or not: USUM06 and USUM08.
    expect(summary?.permanentCount).toBe(2);
  });
});

describe('authorization', () => {
  const cases = [
    { who: 'not linked', userId: NOBODY, hint: 'Ask a Privileged Role Administrator' },
    { who: 'Security Administrator', userId: SECADMIN, hint: 'change nothing except alerts' },
    { who: 'eligible but not active', userId: ELIGIBLE_PRA, hint: 'activate it first' },
  ];

  for (const { who, userId, hint } of cases) {
    it(`refuses every admin change to someone ${who}`, async () => {
      const auditBefore = await app.sql<{ count: number }[]>`select count(*)::int as count from audit_events`;
      const roleId = await roleIdOf('billing-administrator');

      expect(errorsOf(await roleForm(userId, { name: `Sneaky ${userId}` }))).toContain(hint);
      expect(errorsOf(await roleForm(userId, { name: 'Renamed', slug: 'billing-administrator' }, roleId))).toContain(hint);
      const deletion = await app.sender.submitView(userId, { callbackId: 'admin_delete_role', privateMetadata: JSON.stringify({ roleId }), values: {} });
      expect(JSON.stringify(deletion.json)).toContain(hint);
      expect(errorsOf(await assignmentForm(userId, roleId, HOLDER, 'active'))).toContain(hint);
      const removal = await app.sender.submitView(userId, {
        callbackId: 'admin_remove_assignment',
        privateMetadata: JSON.stringify({ roleId: await roleIdOf('held-role'), userId: HOLDER }),
        values: { reason: { value: { type: 'plain_text_input', value: null } } },
      });
      expect(errorsOf(removal)).toContain(hint);
      const wizard = await app.sender.submitView(userId, {
        callbackId: 'admin_setup',
        values: {
          assignments: { value: { type: 'multi_static_select', selected_options: [{ value: '00000000-0000-4000-8000-000000000000' }] } },
          reason: { value: { type: 'plain_text_input', value: 'x' } },
        },
      });
      expect(errorsOf(wizard)).toContain(hint);
      expect(await command(userId, `manager <@${HOLDER}> <@${MANAGER}>`)).toContain(hint);
      expect(await command(userId, 'setup')).toContain('Only an active Privileged Role Administrator');

      const auditAfter = await app.sql<{ count: number }[]>`select count(*)::int as count from audit_events`;
      expect(auditAfter[0]?.count).toBe(auditBefore[0]?.count);
    });
  }
});

describe('assignments from the role page', () => {
  it('adds an assignment, refreshes the holder Home tab and audits it', async () => {
    const roleId = await roleIdOf('service-administrator');
    // Background refreshes go to tabs their users have opened.
    expect((await app.sender.appHomeOpened(HOLDER)).status).toBe(200);
    expect((await assignmentForm(ADMIN, roleId, HOLDER, 'eligible')).body).toBe('');
    const [row] = await app.sql<{ id: string }[]>`select id from assignments where role_id = ${roleId} and user_id = ${HOLDER} and status = 'current'`;
    expect(await auditCount('assignment.added', row?.id)).toBe(1);
    const home = await eventually(async () => {
      const view = fake.homeView(HOLDER);
      return view !== undefined && JSON.stringify(view.view).includes('service-administrator') ? view : undefined;
    });
    expect(JSON.stringify(home.view)).toContain('home_activate');
  });

  it('the last active PRA cannot be made eligible', async () => {
    const result = await assignmentForm(ADMIN, await roleIdOf('privileged-role-administrator'), ADMIN, 'eligible');
    expect(errorsOf(result)).toContain('last active Privileged Role Administrator');
  });
});

describe('security wizard', () => {
  it('turns chosen permanent active assignments into eligible ones, one audit event each', async () => {
    await command(ADMIN, `assign <@${HOLDER}> user-administrator active standing access`);
    const [row] = await app.sql<{ id: string; ends_at: Date | null }[]>`
      select a.id, a.ends_at from assignments a join roles r on r.id = a.role_id
      where r.slug = 'user-administrator' and a.user_id = ${HOLDER} and a.status = 'current'`;
    // Roles forbid permanent active assignments by default, so make this one permanent by hand.
    await app.sql`update assignments set ends_at = null where id = ${row?.id ?? ''}`;

    const opened = await app.sender.command(ADMIN, 'setup');
    const modal = await fake.waitFor('views.open', (call) => call.body.trigger_id === opened.triggerId);
    expect(JSON.stringify(modal.body.view)).toContain(row?.id ?? 'missing');

    const result = await app.sender.submitView(ADMIN, {
      callbackId: 'admin_setup',
      values: {
        // The second option is forged: no form offers it, and it is not a UUID.
        assignments: {
          value: { type: 'multi_static_select', selected_options: [{ value: row?.id }, { value: "x'); drop table roles; --" }] },
        },
        reason: { value: { type: 'plain_text_input', value: 'Security wizard' } },
      },
    });
    expect(JSON.stringify(result.json)).toContain('1 assignment(s) are now eligible');
    expect(JSON.stringify(result.json)).toContain('1 had changed meanwhile');
    const [after] = await app.sql<{ kind: string }[]>`select kind from assignments where id = ${row?.id ?? ''}`;
    expect(after?.kind).toBe('eligible');
    expect(await auditCount('assignment.made_eligible', row?.id)).toBe(1);
  });
});

describe('directory', () => {
  it('records a manager by command and refuses a deactivated user, flagging them', async () => {
    expect(await command(ADMIN, `manager <@${HOLDER}> <@${MANAGER}>`)).toContain('is now recorded');
    const [row] = await app.sql<{ manager_id: string }[]>`select manager_id from directory_users where user_id = ${HOLDER}`;
    expect(row?.manager_id).toBe(MANAGER);
    expect(await auditCount('directory.manager_set', HOLDER)).toBe(1);

    expect(await command(ADMIN, `manager <@${GONE}> <@${MANAGER}>`)).toContain('deactivated in Slack');
    const [gone] = await app.sql<{ deactivated: boolean }[]>`select deactivated from directory_users where user_id = ${GONE}`;
    expect(gone?.deactivated).toBe(true);
  });

  it('imports pasted lines by e-mail and ID, reporting each failed line', async () => {
    const result = await app.sender.submitView(ADMIN, {
      callbackId: 'admin_managers',
      values: {
        managers: {
          value: {
            type: 'plain_text_input',
            value: `${NOBODY},manager@example.com\nnobody@example.com,${MANAGER}\n${GONE},${MANAGER}\nnot a line`,
          },
        },
      },
    });
    const report = JSON.stringify(result.json);
    expect(report).toContain('Recorded 1 manager');
    expect(report).toContain('line 2');
    expect(report).toContain('no user with the e-mail address nobody@example.com');
    expect(report).toContain('line 3');
    expect(report).toContain('line 4');
    expect(fake.calls('users.lookupByEmail').length).toBeGreaterThanOrEqual(2);
  });
});

describe('assignment expiry', () => {
  it('sends the 14-day and 1-day notices once each, then ends the assignment and its activation', async () => {
    const now = app.clock.now();
    const endsAt = new Date(now.getTime() + 20 * DAY_MS);
    const { assignment } = await assignRole(app.runtime.context, {
      actorId: ADMIN,
      assigneeId: NOBODY,
      roleQuery: 'password-administrator',
      kind: 'eligible',
      endsAt,
      reason: null,
    });
    const context = app.runtime.context;
    const log = context.logger;
    const noticesTo = (fragment: string) =>
      fake.messagesTo(NOBODY).filter((call) => messageText(call.body).includes(fragment)).length;

    app.clock.advance(6 * DAY_MS + 60_000);
    await sweepDueAssignments(context, log);
    await sweepDueAssignments(context, log);
    await eventually(async () => (noticesTo('ends in 14 days') === 1 ? true : undefined));

    app.clock.advance(13 * DAY_MS);
    await Promise.all([sweepDueAssignments(context, log), sweepDueAssignments(context, log)]);
    await eventually(async () => (noticesTo('ends tomorrow') === 1 ? true : undefined));

    app.clock.offsetMs = endsAt.getTime() - Date.now() - 30 * 60_000;
    expect(await command(NOBODY, 'activate password 1h fixing logins')).toContain('is active');
    // The activation stops at the assignment's end, so at that moment the timekeeper's sweep
    // could end it first, as expired. Moving its end later stands for an assignment shortened
    // after the activation, which only the assignment's expiry ends.
    await app.sql`update activations set ends_at = ends_at + interval '1 hour' where assignment_id = ${assignment.id}`;
    app.clock.offsetMs = endsAt.getTime() - Date.now() + 60_000;
    await Promise.all([sweepDueAssignments(context, log), sweepDueAssignments(context, log)]);

    const [row] = await app.sql<{ status: string }[]>`select status from assignments where id = ${assignment.id}`;
    expect(row?.status).toBe('expired');
    expect(await auditCount('assignment.expired', assignment.id)).toBe(1);
    expect(await auditCount('assignment.end_notice_sent', assignment.id)).toBe(2);
    const [activation] = await app.sql<{ status: string }[]>`
      select status from activations where assignment_id = ${assignment.id}`;
    expect(activation?.status).toBe('deactivated');
    await eventually(async () => (noticesTo('assignment of Password Administrator has ended') === 1 ? true : undefined));
    await eventually(async () => (noticesTo('your eligibility reached its end date') === 1 ? true : undefined));
    expect(noticesTo('ends in 14 days')).toBe(1);
    expect(noticesTo('ends tomorrow')).toBe(1);
    app.clock.offsetMs = 0;
  });
});
