import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { View } from '@slack/types';
import { z } from 'zod';
import { describeErrorForUser, UserError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { requireActivePra, requireAdministratorView } from '../../services/access.js';
import { deactivateRole, listEligibleRoles } from '../../services/activations.js';
import { concurrentAdminDashboard, readDashboard } from '../../services/dashboard.js';
import { recordHomeTabViewer } from '../../services/home-refresh.js';
import { listPermanentActiveAssignments } from '../../services/setup.js';
import { summarizeRoles } from '../../services/roles.js';
import { buildActivationModal } from '../activation-modal.js';
import type { SlackDeps } from '../deps.js';
import { buildManagersForm, buildRoleForm, buildSetupWizard } from '../admin/forms.js';
import { buildRolesModal } from '../admin/roles-modal.js';
import { HOME_ACTIONS, type HomeListValue } from './actions.js';
import { buildListModal } from './list-modal.js';
import { parseClientJson } from '../client-values.js';
import { publishHome } from './publish.js';

type ButtonBody = BlockAction<ButtonAction>;

const listValueSchema = z.object({
  kind: z.enum(['active', 'eligible', 'pending', 'approvals', 'deactivated']),
  page: z.number().int().min(0).max(10_000),
});
const pageSchema = z.coerce.number().int().min(0).max(10_000);

/**
 * Registers the Home tab: publishing it when opened, and its buttons. Authorization is read
 * from the database on every click; a button's value only names what it acts on.
 */
export function registerHome(app: App, deps: SlackDeps): void {
  const readAdmin = concurrentAdminDashboard(deps.context.db, deps.context.clock);
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    const logger = deps.logger.child({ userId: event.user });
    try {
      await recordHomeTabViewer(deps.context.db, event.user);
      await publishHome(deps.client, deps.context.db, deps.context.clock, event.user, readAdmin, deps.context);
    } catch (error) {
      describeErrorForUser(error, logger);
    }
  });

  onButton(app, deps, HOME_ACTIONS.activate, async (body, action) => {
    const eligible = await listEligibleRoles(deps.context.db, body.user.id, deps.context.clock.now());
    const prefill = action.value === undefined ? {} : { roleSlug: action.value };
    await deps.client.views.open({ trigger_id: body.trigger_id, view: buildActivationModal(eligible, prefill) });
  });

  onButton(app, deps, HOME_ACTIONS.deactivate, async (body, action) => {
    // The Home tab refresh the deactivation owes shows the result.
    await deactivateRole(deps.context, { userId: body.user.id, roleQuery: action.value });
  });

  for (const actionId of [HOME_ACTIONS.showMore, `${HOME_ACTIONS.showMore}_previous`, `${HOME_ACTIONS.showMore}_next`]) {
    onButton(app, deps, actionId, async (body, action) => {
      const value: HomeListValue = parseClientJson(
        listValueSchema,
        action.value,
        new UserError('usage', 'This list cannot be shown; open the Home tab again.'),
      );
      const dashboard = await readDashboard(deps.context.db, body.user.id, deps.context.clock.now(), { groups: deps.context });
      await showView(deps, body, buildListModal(dashboard, value), 'update');
    });
  }

  for (const actionId of [HOME_ACTIONS.rolesPage, `${HOME_ACTIONS.rolesPage}_previous`, `${HOME_ACTIONS.rolesPage}_next`]) {
    onButton(app, deps, actionId, async (body, action) => {
      const now = deps.context.clock.now();
      await requireAdministratorView(deps.context.db, body.user.id, now);
      const roles = await summarizeRoles(deps.context.db, now);
      await showView(deps, body, buildRolesModal(roles, pageSchema.catch(0).parse(action.value)), 'update');
    });
  }

  onButton(app, deps, HOME_ACTIONS.createRole, async (body) => {
    await requireActivePra(deps.context.db, body.user.id, deps.context.clock.now(), 'create roles');
    await showView(deps, body, buildRoleForm(undefined), 'push');
  });

  onButton(app, deps, HOME_ACTIONS.setupWizard, async (body) => {
    await requireActivePra(deps.context.db, body.user.id, deps.context.clock.now(), 'run the security wizard');
    await showView(deps, body, buildSetupWizard(await listPermanentActiveAssignments(deps.context.db)), 'push');
  });

  onButton(app, deps, HOME_ACTIONS.importManagers, async (body) => {
    await requireActivePra(deps.context.db, body.user.id, deps.context.clock.now(), 'record managers');
    await showView(deps, body, buildManagersForm(), 'push');
  });
}

/**
 * Registers a button handler that acks at once and sends any rejection to the clicker as a DM,
 * because clicks on the Home tab and in modals come without a response URL.
 */
export function onButton(
  app: App,
  deps: SlackDeps,
  actionId: string,
  work: (body: ButtonBody, action: ButtonAction, logger: Logger) => Promise<void>,
): void {
  app.action<ButtonBody>(actionId, async ({ ack, body, action }) => {
    await ack();
    const logger = deps.logger.child({ userId: body.user.id, action: actionId });
    try {
      await work(body, action, logger);
    } catch (error) {
      const reply = describeErrorForUser(error, logger);
      await deps.client.chat
        .postMessage({ channel: body.user.id, text: reply.text })
        .catch((postError: unknown) => logger.error({ err: postError, referenceId: reply.referenceId }, 'could not send the reply'));
    }
  });
}

/**
 * Shows `view` from a click: opens it from the Home tab, and from a modal either replaces the
 * modal (`update`, for paging) or stacks on it (`push`).
 */
export async function showView(deps: SlackDeps, body: { trigger_id: string; view?: { id: string; type: string } }, view: View, inModal: 'update' | 'push'): Promise<void> {
  if (body.view?.type !== 'modal') {
    await deps.client.views.open({ trigger_id: body.trigger_id, view });
  } else if (inModal === 'update') {
    await deps.client.views.update({ view_id: body.view.id, view });
  } else {
    await deps.client.views.push({ trigger_id: body.trigger_id, view });
  }
}
