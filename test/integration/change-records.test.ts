import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.js';
import {
  createTestEnvironment,
  startTestApp,
  type TestApp,
  type TestEnvironment,
} from '../support/harness.js';
import { commandReply } from '../support/flows.js';

// What is written, and what the reply shows, when a command or form contains less than it
// appears to: an empty quoted reason, a repeated submission, an end chosen by the role's rules.

const ADMIN = 'UADMIN31';
const ALICE = 'UALICE31';
const CAROL = 'UCAROL31';
const DAVE = 'UDAVE031';
const DAY_MS = 24 * 60 * 60_000;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  for (const id of [ADMIN, ALICE, CAROL, DAVE]) fake.setUser({ id, tz: 'UTC' });
  app = await startTestApp({ environment, fake, admins: [ADMIN] });
  expect(await command(ADMIN, `assign <@${ALICE}> billing eligible`)).toContain('is now eligible');
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

const command = (userId: string, text: string) => commandReply(app, userId, text);

async function counts(): Promise<{ audit: number; activations: number }> {
  const [row] = await app.sql<{ audit: number; activations: number }[]>`
    select (select count(*) from audit_events)::int as audit, (select count(*) from activations)::int as activations`;
  return row!;
}

describe('empty quoted justification', () => {
  afterEach(async () => {
    // A failing case activates the role, so it is ended before the next case runs.
    await app.sql`update activations set status = 'deactivated', ended_at = now() where user_id = ${ALICE} and status = 'active'`;
  });

  it.each(['""', '"   "', '\u201C \u201D', '"" ""'])('%s opens the form, writes nothing', async (reason) => {
    const before = await counts();
    const result = await app.sender.command(ALICE, `activate billing 2h ${reason}`);
    expect(result.status).toBe(200);
    // Billing Administrator requires a justification, so the modal opens to ask for one.
    await fake.waitFor('views.open', (call) => call.body.trigger_id === result.triggerId);
    expect(await counts()).toEqual(before);
  });

  it.each(['""', '"   "', '\u201C \u201D', '"" ""'])('%s in the modal: field error, nothing written', async (justification) => {
    const before = await counts();
    const result = await app.sender.submitView(ALICE, {
      callbackId: 'activate_role',
      values: {
        role: { value: { type: 'static_select', selected_option: { value: 'billing-administrator' } } },
        duration: { value: { type: 'plain_text_input', value: '2h' } },
        justification: { value: { type: 'plain_text_input', value: justification } },
      },
    });
    expect(result.status).toBe(200);
    expect(result.json).toEqual({
      response_action: 'errors',
      errors: { justification: 'Billing Administrator requires a justification: say why you need it.' },
    });
    expect(await counts()).toEqual(before);
  });

  it('active assignment needs a real reason', async () => {
    const before = await counts();
    expect(await command(ADMIN, `assign <@${CAROL}> billing active ""`)).toContain('requires a reason');
    expect(await counts()).toEqual(before);
  });

  it('active assignment form needs a real reason', async () => {
    const [role] = await app.sql<{ id: string }[]>`select id from roles where slug = 'billing-administrator'`;
    const before = await counts();
    const result = await app.sender.submitView(ADMIN, {
      callbackId: 'admin_assignment_form',
      privateMetadata: JSON.stringify({ roleId: role!.id }),
      values: {
        user: { value: { type: 'users_select', selected_user: CAROL } },
        kind: { value: { type: 'radio_buttons', selected_option: { value: 'active' } } },
        end_date: { value: { type: 'datepicker', selected_date: null } },
        reason: { value: { type: 'plain_text_input', value: '\u201C \u201D' } },
      },
    });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ response_action: 'errors' });
    const errors = Object.values((result.json as { errors: Record<string, string> }).errors);
    expect(errors.join(' ')).toContain('requires a reason for active assignments');
    expect(await counts()).toEqual(before);
  });

  it('stores a blank optional reason as none', async () => {
    const [role] = await app.sql<{ id: string }[]>`select id from roles where slug = 'billing-administrator'`;
    const result = await app.sender.submitView(ADMIN, {
      callbackId: 'admin_assignment_form',
      privateMetadata: JSON.stringify({ roleId: role!.id }),
      values: {
        user: { value: { type: 'users_select', selected_user: DAVE } },
        kind: { value: { type: 'radio_buttons', selected_option: { value: 'eligible' } } },
        end_date: { value: { type: 'datepicker', selected_date: null } },
        reason: { value: { type: 'plain_text_input', value: '""' } },
      },
    });
    expect(result.status).toBe(200);
    const [stored] = await app.sql<{ reason: string | null }[]>`
      select reason from assignments where user_id = ${DAVE} and role_id = ${role!.id} and status = 'current'`;
    expect(stored).toEqual({ reason: null });
    const [event] = await app.sql<{ reason: string | null }[]>`
      select reason from audit_events where subject_user_id = ${DAVE} and action = 'assignment.added'`;
    expect(event).toEqual({ reason: null });
  });
});

describe('characters PostgreSQL cannot store', () => {
  afterEach(async () => {
    await app.sql`update activations set status = 'deactivated', ended_at = now() where user_id = ${ALICE} and status = 'active'`;
  });

  it('NUL in a justification becomes U+FFFD', async () => {
    expect(await command(ALICE, 'activate billing 1h fixing invoice\u0000 run')).toContain('is active');

    const [activation] = await app.sql<{ id: string; justification: string }[]>`
      select id, justification from activations where user_id = ${ALICE} and status = 'active'`;
    expect(activation?.justification).toBe('fixing invoice\uFFFD run');
    const [event] = await app.sql<{ reason: string }[]>`
      select reason from audit_events where target_id = ${activation!.id} and action = 'activation.activated'`;
    expect(event?.reason).toBe('fixing invoice\uFFFD run');
  });
});

describe('assignment end chosen by the role', () => {
  it('reply shows the imposed end', async () => {
    // Active assignments of built-in roles may not be permanent: they end after 180 days.
    const reply = await command(ADMIN, `assign <@${DAVE}> billing active month-end close`);
    const [row] = await app.sql<{ ends_at: Date | null }[]>`
      select a.ends_at from assignments a join roles r on r.id = a.role_id
      where a.user_id = ${DAVE} and r.slug = 'billing-administrator' and a.status = 'current'`;
    expect(row?.ends_at).not.toBeNull();
    const days = (row!.ends_at!.getTime() - Date.now()) / DAY_MS;
    expect(days).toBeGreaterThan(179);
    expect(days).toBeLessThan(181);
    expect(reply).not.toContain('with no end date');
    expect(reply).toContain(`<!date^${Math.floor(row!.ends_at!.getTime() / 1000)}^`);
  });
});

describe('repeated role form submission', () => {
  it('records one role.updated event', async () => {
    const [role] = await app.sql<{ id: string; name: string; slug: string; description: string }[]>`
      select id, name, slug, description from roles where slug = 'billing-administrator'`;
    const submit = () =>
      app.sender.submitView(ADMIN, {
        callbackId: 'admin_role_form',
        privateMetadata: JSON.stringify({ roleId: role!.id }),
        values: {
          name: { value: { type: 'plain_text_input', value: `${role!.name} (finance)` } },
          slug: { value: { type: 'plain_text_input', value: role!.slug } },
          description: { value: { type: 'plain_text_input', value: role!.description } },
        },
      });
    expect((await submit()).status).toBe(200);
    expect((await submit()).status).toBe(200);
    const [row] = await app.sql<{ count: number }[]>`
      select count(*)::int as count from audit_events where action = 'role.updated' and target_id = ${role!.id}`;
    expect(row?.count).toBe(1);
  });
});

describe('role settings saved twice at once', () => {
  it('records one settings event', async () => {
    const { updateRoleSettings } = await import('../../src/services/role-settings.js');
    const [role] = await app.sql<{ id: string; settings: { maxActivationMinutes: number } }[]>`
      select id, settings from roles where slug = 'user-administrator'`;
    const settings = { ...role!.settings, maxActivationMinutes: 120 } as Parameters<typeof updateRoleSettings>[1]['settings'];
    const results = await Promise.all(
      Array.from({ length: 4 }, () => updateRoleSettings(app.runtime.context, { actorId: ADMIN, roleId: role!.id, settings })),
    );
    expect(results.filter((result) => result.changed.length > 0)).toHaveLength(1);
    const events = await app.sql<{ before: unknown; after: unknown }[]>`
      select before, after from audit_events where action = 'role.settings_updated' and target_id = ${role!.id}`;
    expect(events).toEqual([{ before: { maxActivationMinutes: 480 }, after: { maxActivationMinutes: 120 } }]);
  });
});
