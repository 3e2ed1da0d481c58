import type { AllMiddlewareArgs, App, BlockAction, OverflowAction, SlackViewMiddlewareArgs, ViewStateValue } from '@slack/bolt';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { assignments } from '../../../db/schema.js';
import { parseAssignmentEnd } from '../../domain/dates.js';
import { describeErrorForUser, UserError } from '../../errors.js';
import { requireActivePra, requireAdministratorView } from '../../services/access.js';
import { assignRole, removeAssignment } from '../../services/assignments.js';
import { createRole, deleteRole, listRoleHolders, readLiveRole, updateRole } from '../../services/role-admin.js';
import { summarizeRoles } from '../../services/roles.js';
import { convertToEligible } from '../../services/setup.js';
import { section } from '../blocks.js';
import type { SlackDeps } from '../deps.js';
import { HOME_ACTIONS } from '../home/actions.js';
import { onButton, showView } from '../home/register.js';
import { readUserTimeZone, requireActiveUser } from '../users.js';
import { buildAssignmentForm, buildDeleteRoleForm, buildRemoveForm, buildRoleForm } from './forms.js';
import { ADMIN_VIEWS, FORM_BLOCKS, ROLE_PAGE_ACTIONS, VALUE_ACTION, type FormState } from './ids.js';
import { importManagers } from './managers.js';
import { buildRolePage } from './role-page.js';
import { parseClientJson, parseClientValue } from '../client-values.js';

type Values = Record<string, Record<string, ViewStateValue>>;
type ViewArgs = SlackViewMiddlewareArgs & AllMiddlewareArgs;

const formStateSchema = z.object({
  roleId: z.string(),
  assignmentId: z.uuid().optional(),
  userId: z.string().optional(),
  parentViewId: z.string().optional(),
});
const rolePageStateSchema = z.object({ roleId: z.uuid(), page: z.number().int().min(0) });
const roleIdSchema = z.uuid();

/** Returns the error for a role id, role page or form state that is forged or names no role. */
function roleGone(): UserError {
  return new UserError('role_not_found', 'This role no longer exists; close this view and open the role again.');
}

function parseRoleId(value: string | undefined): string {
  return parseClientValue(roleIdSchema, value, roleGone());
}

/**
 * Registers the role pages and the administration forms. Every submission goes through a
 * service that checks, inside its transaction, that the submitter is an active Privileged
 * Role Administrator; opening a form checks it too, so others learn at once.
 */
export function registerAdmin(app: App, deps: SlackDeps): void {
  onButton(app, deps, HOME_ACTIONS.openRole, async (body, action) => {
    const roleId = parseRoleId(action.value);
    await showView(deps, body, await renderRolePage(deps, body.user.id, roleId, 0), 'push');
  });

  for (const actionId of [`${ROLE_PAGE_ACTIONS.page}_previous`, `${ROLE_PAGE_ACTIONS.page}_next`]) {
    onButton(app, deps, actionId, async (body, action) => {
      const state = parseClientJson(rolePageStateSchema, body.view?.private_metadata, roleGone());
      const page = z.coerce.number().int().min(0).catch(0).parse(action.value);
      await showView(deps, body, await renderRolePage(deps, body.user.id, state.roleId, page), 'update');
    });
  }

  onButton(app, deps, ROLE_PAGE_ACTIONS.addHolder, async (body, action) => {
    await requireActivePra(deps.context.db, body.user.id, deps.context.clock.now(), 'assign roles');
    const role = await readLiveRole(deps.context.db, parseRoleId(action.value));
    await showView(deps, body, buildAssignmentForm(role, undefined, body.view?.id), 'push');
  });

  onButton(app, deps, ROLE_PAGE_ACTIONS.editRole, async (body, action) => {
    await requireActivePra(deps.context.db, body.user.id, deps.context.clock.now(), 'edit roles');
    const role = await readLiveRole(deps.context.db, parseRoleId(action.value));
    await showView(deps, body, buildRoleForm(role, body.view?.id), 'push');
  });

  onButton(app, deps, ROLE_PAGE_ACTIONS.deleteRole, async (body, action) => {
    await requireActivePra(deps.context.db, body.user.id, deps.context.clock.now(), 'delete roles');
    const role = await readLiveRole(deps.context.db, parseRoleId(action.value));
    await showView(deps, body, buildDeleteRoleForm(role), 'push');
  });

  app.action<BlockAction<OverflowAction>>(ROLE_PAGE_ACTIONS.holderMenu, async ({ ack, body, action }) => {
    await ack();
    const logger = deps.logger.child({ userId: body.user.id, action: ROLE_PAGE_ACTIONS.holderMenu });
    try {
      await openHolderForm(deps, body, action.selected_option.value);
    } catch (error) {
      const reply = describeErrorForUser(error, logger);
      await deps.client.chat.postMessage({ channel: body.user.id, text: reply.text }).catch(() => undefined);
    }
  });

  app.view(ADMIN_VIEWS.roleForm, (args) =>
    submit(deps, args, FORM_BLOCKS.name, async (userId, state, values) => {
      const fields = {
        name: textValue(values, FORM_BLOCKS.name),
        slug: textValue(values, FORM_BLOCKS.slug),
        description: textValue(values, FORM_BLOCKS.description),
      };
      const role =
        state.roleId === ''
          ? await createRole(deps.context, { actorId: userId, fields })
          : await updateRole(deps.context, { actorId: userId, roleId: state.roleId, fields });
      return role.id;
    }),
  );

  app.view(ADMIN_VIEWS.deleteRole, async (args) => {
    const userId = args.body.user.id;
    const logger = deps.logger.child({ userId, viewId: args.view.id });
    try {
      const state = parseClientJson(formStateSchema, args.view.private_metadata, roleGone());
      const role = await deleteRole(deps.context, { actorId: userId, roleId: state.roleId });
      logger.info({ roleId: role.id }, 'role deleted');
      await args.ack({ response_action: 'clear' });
    } catch (error) {
      const reply = describeErrorForUser(error, logger);
      await args.ack({ response_action: 'update', view: messageView('Delete role', reply.text) });
    }
  });

  app.view(ADMIN_VIEWS.assignmentForm, (args) =>
    submit(deps, args, FORM_BLOCKS.endDate, async (userId, state, values) => {
      const role = await readLiveRole(deps.context.db, state.roleId);
      const assigneeId = state.userId ?? values[FORM_BLOCKS.user]?.[VALUE_ACTION]?.selected_user ?? '';
      if (assigneeId === '') throw new UserError('user_not_found', 'Choose a person.');
      await requireActivePra(deps.context.db, userId, deps.context.clock.now(), 'assign roles');
      await requireActiveUser(deps, assigneeId, 'assignee');
      const kind = values[FORM_BLOCKS.kind]?.[VALUE_ACTION]?.selected_option?.value === 'active' ? 'active' : 'eligible';
      const endDate = values[FORM_BLOCKS.endDate]?.[VALUE_ACTION]?.selected_date ?? null;
      let endsAt: Date | null = null;
      if (endDate !== null) {
        const parsed = parseAssignmentEnd(endDate, await readUserTimeZone(deps.client, userId, 'you'), deps.context.clock.now());
        if (!parsed.ok) throw new UserError('date_invalid', parsed.reason);
        endsAt = parsed.endsAt;
      }
      const reason = textValue(values, FORM_BLOCKS.reason);
      await assignRole(deps.context, {
        actorId: userId,
        assigneeId,
        roleQuery: role.slug,
        kind,
        endsAt,
        reason: reason === '' ? null : reason,
      });
      return role.id;
    }),
  );

  app.view(ADMIN_VIEWS.removeAssignment, (args) =>
    submit(deps, args, FORM_BLOCKS.reason, async (userId, state, values) => {
      const role = await readLiveRole(deps.context.db, state.roleId);
      const reason = textValue(values, FORM_BLOCKS.reason);
      await removeAssignment(deps.context, {
        actorId: userId,
        assigneeId: state.userId ?? '',
        roleQuery: role.slug,
        reason: reason === '' ? null : reason,
      });
      return role.id;
    }),
  );

  app.view(ADMIN_VIEWS.setupWizard, async (args) => {
    const userId = args.body.user.id;
    const logger = deps.logger.child({ userId, viewId: args.view.id });
    try {
      const values = args.view.state.values;
      const chosen = values[FORM_BLOCKS.assignments]?.[VALUE_ACTION]?.selected_options?.map((option) => option.value) ?? [];
      const result = await convertToEligible(deps.context, {
        actorId: userId,
        assignmentIds: chosen,
        reason: textValue(values, FORM_BLOCKS.reason) || 'Security wizard',
      });
      logger.info({ converted: result.converted, skipped: result.skipped }, 'security wizard applied');
      const skipped = result.skipped === 0 ? '' : ` ${result.skipped} had changed meanwhile and were left alone.`;
      await args.ack({
        response_action: 'update',
        view: messageView('Security wizard', `:white_check_mark: ${result.converted} assignment(s) are now eligible; their holders were told.${skipped}`),
      });
    } catch (error) {
      const reply = describeErrorForUser(error, logger);
      await args.ack({ response_action: 'errors', errors: { [FORM_BLOCKS.assignments]: reply.text } });
    }
  });

  app.view(ADMIN_VIEWS.importManagers, async (args) => {
    const userId = args.body.user.id;
    const logger = deps.logger.child({ userId, viewId: args.view.id });
    try {
      const report = await importManagers(deps, userId, textValue(args.view.state.values, FORM_BLOCKS.managers));
      logger.info({ recorded: report.recorded, failed: report.failures.length }, 'managers imported');
      await args.ack({ response_action: 'update', view: report.view });
    } catch (error) {
      const reply = describeErrorForUser(error, logger);
      await args.ack({ response_action: 'errors', errors: { [FORM_BLOCKS.managers]: reply.text } });
    }
  });
}

/** Reads a role's page for a viewer allowed to see it. */
async function renderRolePage(deps: SlackDeps, userId: string, roleId: string, page: number) {
  const now = deps.context.clock.now();
  const { canChange } = await requireAdministratorView(deps.context.db, userId, now);
  const role = (await summarizeRoles(deps.context.db, now)).find((candidate) => candidate.id === roleId);
  if (role === undefined) throw new UserError('role_not_found', 'This role no longer exists.');
  return buildRolePage(role, await listRoleHolders(deps.context.db, roleId, now), { canChange, page });
}

async function openHolderForm(deps: SlackDeps, body: BlockAction<OverflowAction>, selected: string): Promise<void> {
  const [verb, assignmentId] = selected.split(':');
  const parsedId = roleIdSchema.safeParse(assignmentId);
  if (!parsedId.success) throw new UserError('assignment_not_found', 'This assignment does not exist.');
  const now = deps.context.clock.now();
  await requireActivePra(deps.context.db, body.user.id, now, verb === 'remove' ? 'remove assignments' : 'change assignments');
  const [row] = await deps.context.db.select().from(assignments).where(eq(assignments.id, parsedId.data));
  if (row?.status !== 'current') throw new UserError('assignment_not_found', 'This assignment has ended meanwhile.');
  const role = await readLiveRole(deps.context.db, row.roleId);
  const parentViewId = body.view?.id;
  if (verb === 'remove') {
    await showView(deps, body, buildRemoveForm(role, { assignmentId: row.id, userId: row.userId }, parentViewId), 'push');
    return;
  }
  const timeZone = await readUserTimeZone(deps.client, body.user.id, 'you');
  const endDate = row.endsAt === null ? undefined : lastDayInZone(row.endsAt, timeZone);
  await showView(deps, body, buildAssignmentForm(role, { assignmentId: row.id, userId: row.userId, kind: row.kind, endDate }, parentViewId), 'push');
}

/**
 * Runs a form submission: field errors go back into the form, and on success the role page
 * underneath is redrawn so it shows the change.
 */
async function submit(
  deps: SlackDeps,
  args: ViewArgs,
  fallbackBlock: string,
  work: (userId: string, state: FormState, values: Values) => Promise<string>,
): Promise<void> {
  const userId = args.body.user.id;
  const logger = deps.logger.child({ userId, viewId: args.view.id, callbackId: args.view.callback_id });
  let roleId: string;
  let state: FormState;
  try {
    state = parseClientJson(formStateSchema, args.view.private_metadata, roleGone());
    roleId = await work(userId, state, args.view.state.values);
  } catch (error) {
    const reply = describeErrorForUser(error, logger);
    const block = error instanceof UserError && error.field !== undefined && error.field in FORM_BLOCKS ? error.field : fallbackBlock;
    await args.ack({ response_action: 'errors', errors: { [block]: reply.text } });
    return;
  }
  await args.ack();
  logger.info({ roleId }, 'administration form saved');
  if (state.parentViewId === undefined) return;
  try {
    await deps.client.views.update({ view_id: state.parentViewId, view: await renderRolePage(deps, userId, roleId, 0) });
  } catch (error) {
    logger.warn({ err: error }, 'could not redraw the role page');
  }
}

function textValue(values: Values, blockId: string): string {
  return values[blockId]?.[VALUE_ACTION]?.value?.trim() ?? '';
}

function messageView(title: string, text: string) {
  return {
    type: 'modal' as const,
    title: { type: 'plain_text' as const, text: title },
    close: { type: 'plain_text' as const, text: 'Done' },
    blocks: [section(text)],
  };
}

// A whole-day end date is stored as the next midnight, so the day shown is the one before it.
function lastDayInZone(endsAt: Date, timeZone: string): string {
  const lastInstant = new Date(endsAt.getTime() - 1);
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(lastInstant);
}
