import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.js';
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
import { postSigned, slashCommandBody } from '../support/slack-requests.js';
import { listEligibleRoles } from '../../src/services/activations.js';

const ADMIN = 'UADMIN01';
const ALICE = 'UALICE01';
const BOB = 'UBOB0001';

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  fake.setUser({ id: ADMIN, tz: 'Europe/Berlin' });
  fake.setUser({ id: ALICE, tz: 'America/New_York' });
  fake.setUser({ id: BOB, tz: 'UTC' });
  app = await startTestApp({ environment, fake, admins: [ADMIN] });
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

async function auditActions(subjectUserId: string): Promise<string[]> {
  const rows = await app.sql<{ action: string }[]>`
    select action from audit_events where subject_user_id = ${subjectUserId} order by id`;
  return rows.map((row) => row.action);
}

describe('bootstrap', () => {
  it('makes PIM_ADMINS permanent active administrators', async () => {
    const rows = await app.sql<{ slug: string; kind: string; ends_at: Date | null }[]>`
      select r.slug, a.kind, a.ends_at from assignments a join roles r on r.id = a.role_id
      where a.user_id = ${ADMIN} and a.status = 'current' order by r.slug`;
    expect(rows).toEqual([
      { slug: 'privileged-role-administrator', kind: 'active', ends_at: null },
      { slug: 'security-administrator', kind: 'active', ends_at: null },
    ]);
  });

  it('tells the security channel', async () => {
    const post = await fake.waitFor('chat.postMessage', (call) => call.body.channel === SECURITY_CHANNEL);
    expect(messageText(post.body)).toContain(`<@${ADMIN}>`);
  });

  it('seeds the built-in catalog once with default settings', async () => {
    const rows = await app.sql<{ slug: string; settings: { maxActivationMinutes: number; requireJustification: boolean } }[]>`
      select slug, settings from roles where builtin order by slug`;
    expect(rows.map((row) => row.slug)).toEqual([
      'billing-administrator',
      'global-administrator',
      'password-administrator',
      'privileged-role-administrator',
      'security-administrator',
      'service-administrator',
      'user-administrator',
    ]);
    for (const row of rows) {
      expect(row.settings.maxActivationMinutes).toBe(480);
      expect(row.settings.requireJustification).toBe(true);
    }
  });
});

describe('help', () => {
  it('shows admin commands only to an active administrator', async () => {
    const forAdmin = await command(ADMIN, 'help');
    expect(forAdmin).toContain('/pim assign');
    const forAlice = await command(ALICE, '');
    expect(forAlice).toContain('/pim activate');
    expect(forAlice).not.toContain('/pim assign');
  });

  it('answers an unknown subcommand with usage', async () => {
    const reply = await command(ALICE, 'frobnicate');
    expect(reply).toContain('`frobnicate` is not a /pim command');
    expect(reply).toContain('/pim status');
  });
});

describe('assign and remove', () => {
  it('refuses a non-administrator and records nothing', async () => {
    const before = await app.sql`select count(*)::int as count from assignments`;
    const reply = await command(ALICE, `assign <@${BOB}|bob> billing`);
    expect(reply).toContain('Only an active Privileged Role Administrator');
    const after = await app.sql`select count(*)::int as count from assignments`;
    expect(after[0]?.count).toBe(before[0]?.count);
  });

  it('makes a user eligible, tells them and audits it', async () => {
    const reply = await command(ADMIN, `assign <@${ALICE}|alice> billing eligible because she runs invoicing`);
    expect(reply).toContain('eligible for *Billing Administrator*');
    const dm = await fake.waitFor('chat.postMessage', (call) => call.body.channel === ALICE);
    expect(messageText(dm.body)).toContain('eligible for *Billing Administrator*');
    expect(await auditActions(ALICE)).toEqual(['assignment.added']);
  });

  it('reads until DATE in the admin time zone', async () => {
    await command(ADMIN, `assign <@${BOB}|bob> "User Administrator" until 2099-01-15T09:30`);
    const [row] = await app.sql<{ ends_at: Date }[]>`
      select a.ends_at from assignments a join roles r on r.id = a.role_id
      where a.user_id = ${BOB} and r.slug = 'user-administrator' and a.status = 'current'`;
    // Europe/Berlin is UTC+1 in January.
    expect(row?.ends_at.toISOString()).toBe('2099-01-15T08:30:00.000Z');
  });

  it('rejects an unknown user mention and an unknown role', async () => {
    expect(await command(ADMIN, 'assign <@UNOBODY1|ghost> billing')).toContain('UNOBODY1');
    expect(await command(ADMIN, `assign <@${BOB}|bob> nosuchrole`)).toMatch(/not a role|no role/i);
  });

  it('removes an assignment and tells the holder', async () => {
    const reply = await command(ADMIN, `remove <@${BOB}|bob> user-admin no longer needed`);
    expect(reply).toContain('Removed the eligible assignment of *User Administrator*');
    const dm = await fake.waitFor(
      'chat.postMessage',
      (call) => call.body.channel === BOB && messageText(call.body).includes('was removed'),
    );
    expect(messageText(dm.body)).toContain('User Administrator');
    expect(await auditActions(BOB)).toEqual(['assignment.added', 'assignment.removed']);
  });
});

describe('activation', () => {
  it('refuses someone not eligible and records nothing', async () => {
    const reply = await command(BOB, 'activate global 1h testing');
    expect(reply).toContain('You are not eligible for Global Administrator');
    const rows = await app.sql`select 1 from activations where user_id = ${BOB}`;
    expect(rows).toHaveLength(0);
  });

  it('opens a modal listing only eligible roles', async () => {
    const result = await app.sender.command(ALICE, 'activate');
    const opened = await fake.waitFor('views.open', (call) => call.body.trigger_id === result.triggerId);
    const view = opened.body.view as { blocks: { block_id: string; element: { options?: { value: string }[] } }[] };
    const roleBlock = view.blocks.find((block) => block.block_id === 'role');
    expect(roleBlock?.element.options?.map((option) => option.value)).toEqual(['billing-administrator']);
  });

  it('returns field errors for a bad duration and a missing justification', async () => {
    const result = await app.sender.submitView(ALICE, {
      values: {
        role: { value: { type: 'static_select', selected_option: { value: 'billing-administrator' } } },
        duration: { value: { type: 'plain_text_input', value: '9h' } },
        justification: { value: { type: 'plain_text_input', value: '' } },
      },
    });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ response_action: 'errors' });
    const errors = (result.json as { errors: Record<string, string> }).errors;
    expect(errors.duration).toContain('at most 8 hours');
    expect(errors.justification).toContain('requires a justification');
    expect(await app.sql`select 1 from activations where user_id = ${ALICE}`).toHaveLength(0);
  });

  it('activates from the modal: DM with end time and a security post', async () => {
    const result = await app.sender.submitView(ALICE, {
      values: {
        role: { value: { type: 'static_select', selected_option: { value: 'billing-administrator' } } },
        duration: { value: { type: 'plain_text_input', value: '1h30m' } },
        justification: { value: { type: 'plain_text_input', value: 'Refund run <!channel> INC-42' } },
      },
    });
    expect(result.status).toBe(200);
    expect(result.body).toBe('');

    // An activation that outlasts the 2-second ack budget is committed after the modal closes.
    // The DM is sent only once it is committed, so the row is read after the DM arrives.
    const dm = await fake.waitFor(
      'chat.postMessage',
      (call) => call.body.channel === ALICE && messageText(call.body).includes('is active'),
    );
    const [activation] = await app.sql<{ id: string; ends_at: Date; duration_minutes: number }[]>`
      select id, ends_at, duration_minutes from activations where user_id = ${ALICE} and status = 'active'`;
    expect(activation?.duration_minutes).toBe(90);
    const epoch = Math.floor((activation?.ends_at.getTime() ?? 0) / 1000);

    expect(messageText(dm.body)).toContain('Billing Administrator');
    expect(messageText(dm.body)).toContain(`<!date^${epoch}^`);

    const post = await fake.waitFor(
      'chat.postMessage',
      (call) => call.body.channel === SECURITY_CHANNEL && messageText(call.body).includes('activated'),
    );
    const text = messageText(post.body);
    expect(text).toContain(`<@${ALICE}>`);
    expect(text).toContain('Billing Administrator');
    expect(text).toContain('1 hour 30 minutes');
    expect(text).toContain('Refund run &lt;!channel&gt; INC-42');
    expect(await auditActions(ALICE)).toEqual(['assignment.added', 'activation.activated']);
  });

  it('does not activate twice and says until when it is active', async () => {
    const reply = await command(ALICE, 'activate billing 1h again');
    expect(reply).toContain('already active for you until <!date^');
    const rows = await app.sql`select 1 from activations where user_id = ${ALICE}`;
    expect(rows).toHaveLength(1);
  });

  it('status lists eligible and active roles with end times', async () => {
    const reply = await command(ALICE, 'status');
    expect(reply).toContain('Active now');
    expect(reply).toMatch(/Billing Administrator\* until <!date\^\d+/);
    expect(reply).toContain('Eligible');
  });

  it('roles lists counts per role', async () => {
    const reply = await command(ALICE, 'roles');
    expect(reply).toContain('*Billing Administrator* (`billing-administrator`): 1 eligible, 1 active, 0 permanent');
    expect(reply).toContain('*Privileged Role Administrator* (`privileged-role-administrator`): 0 eligible, 1 active, 1 permanent');
  });

  it('deactivate ends it early and tells the user', async () => {
    const reply = await command(ALICE, 'deactivate');
    expect(reply).toContain('*Billing Administrator* has ended');
    const dm = await fake.waitFor(
      'chat.postMessage',
      (call) => call.body.channel === ALICE && messageText(call.body).includes('you deactivated it'),
    );
    expect(dm).toBeDefined();
    const [row] = await app.sql<{ status: string }[]>`select status from activations where user_id = ${ALICE}`;
    expect(row?.status).toBe('deactivated');
  });

  it('activates directly when every argument is given', async () => {
    const reply = await command(ALICE, 'activate bill 45m "quarterly close"');
    expect(reply).toContain('*Billing Administrator* is active for 45 minutes');
    expect(fake.calls('views.open').filter((call) => call.body.trigger_id !== undefined)).toHaveLength(1);
  });

  it('answers bad input with a specific reply', async () => {
    expect(await command(ALICE, 'activate bill 2x reason')).toContain('"2x" is not a duration');
    expect(await command(ALICE, 'activate zzz 1h reason')).toMatch(/zzz/);
    expect(await command(ALICE, 'activate p 1h reason')).toContain('Password Administrator');
  });

  it('opens the modal pre-filled when the justification is missing', async () => {
    const result = await app.sender.command(BOB, 'activate');
    expect(await replyTo(fake, result.responseUrl)).toContain('not eligible for any role');
    await command(ADMIN, `assign <@${BOB}|bob> global`);
    const prefilled = await app.sender.command(BOB, 'activate global 2h');
    const opened = await fake.waitFor('views.open', (call) => call.body.trigger_id === prefilled.triggerId);
    const view = opened.body.view as {
      blocks: { block_id: string; element: { initial_value?: string; initial_option?: { value: string } } }[];
    };
    const byId = new Map(view.blocks.map((block) => [block.block_id, block.element]));
    expect(byId.get('role')?.initial_option?.value).toBe('global-administrator');
    expect(byId.get('duration')?.initial_value).toBe('2h');
    // Every built-in role requires a justification by default, so the view marks the field required.
    const justification = (view.blocks as { block_id: string; optional?: boolean }[]).find((block) => block.block_id === 'justification');
    expect(justification?.optional).toBe(false);
  });
});

describe('eligible roles', () => {
  it('lists eligible roles in force', async () => {
    const now = app.clock.now();
    const at = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString();
    const user = 'UELIGLIST';
    // slug, kind, status, starts (days from now), ends (days from now, or null), role deleted
    const cases: [string, string, string, number, number | null, boolean][] = [
      ['elig-b-open', 'eligible', 'current', -1, null, false],
      ['elig-a-bounded', 'eligible', 'current', -1, 3, false],
      ['elig-future', 'eligible', 'current', 2, null, false],
      ['elig-ended', 'eligible', 'current', -5, -1, false],
      ['elig-removed', 'eligible', 'removed', -5, null, false],
      ['elig-active-kind', 'active', 'current', -1, null, false],
      ['elig-deleted-role', 'eligible', 'current', -1, null, true],
    ];
    for (const [slug, kind, status, starts, ends, deleted] of cases) {
      const [role] = await app.sql<{ id: string }[]>`
        insert into roles (slug, name, description, settings, deleted_at)
        values (${slug}, ${`Role ${slug}`}, 'listed or not', '{}'::jsonb, ${deleted ? at(-1) : null}) returning id`;
      await app.sql`
        insert into assignments (role_id, user_id, kind, status, starts_at, ends_at, assigned_by)
        values (${role?.id ?? ''}, ${user}, ${kind}, ${status}, ${at(starts)}, ${ends === null ? null : at(ends)}, ${ADMIN})`;
    }

    const eligible = await listEligibleRoles(app.runtime.context.db, user, now);

    expect(eligible.map((role) => role.slug)).toEqual(['elig-a-bounded', 'elig-b-open']);
    expect(eligible[0]?.settings.maxActivationMinutes).toBeGreaterThan(0);
  });
});

describe('request verification', () => {
  it('rejects a bad signature and a stale timestamp with 401, changing nothing', async () => {
    const before = await app.sql`select count(*)::int as count from audit_events`;
    const body = slashCommandBody({
      userId: ADMIN,
      text: `assign <@${BOB}|bob> password`,
      triggerId: fake.issueTriggerId(ADMIN),
      responseUrl: fake.responseUrl(),
    });
    const url = `${app.baseUrl}/slack/events`;
    const forged = await postSigned(url, body, 'application/x-www-form-urlencoded', 'wrong-secret');
    expect(forged.status).toBe(401);
    const stale = await postSigned(url, body, 'application/x-www-form-urlencoded', 'test-signing-secret', {
      timestamp: Math.floor(Date.now() / 1000) - 10 * 60,
    });
    expect(stale.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await app.sql`select count(*)::int as count from audit_events`;
    expect(after[0]?.count).toBe(before[0]?.count);
  });

  it('acks a command well within 3 seconds', async () => {
    const result = await app.sender.command(ALICE, 'status');
    expect(result.status).toBe(200);
    expect(result.elapsedMs).toBeLessThan(3_000);
  });
});

describe('health', () => {
  it('answers healthz and readyz', async () => {
    const health = await fetch(`${app.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    const ready = await eventually(async () => {
      const response = await fetch(`${app.baseUrl}/readyz`);
      return response.status === 200 ? response : undefined;
    });
    expect(await ready.json()).toMatchObject({ checks: { postgres: 'ok', redis: 'ok', migrations: 'ok' } });
  });
});
