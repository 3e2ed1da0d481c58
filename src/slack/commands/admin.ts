import type { PimCommand } from '../../domain/command.js';
import { readAccess, requireActivePra } from '../../services/access.js';
import { claimFirstAdministrator } from '../../services/assignments.js';
import { UserError } from '../../errors.js';
import { setManagers } from '../../services/directory.js';
import { listPermanentActiveAssignments } from '../../services/setup.js';
import { mention } from '../blocks.js';
import type { SlackDeps } from '../deps.js';
import { buildManagersForm, buildSetupWizard } from '../admin/forms.js';
import { requireActiveUser } from '../users.js';
import type { CommandOrigin } from './activate.js';

type ManagerCommand = Extract<PimCommand, { name: 'manager' }>;

/**
 * Handles `/pim setup`. While `PIM_ADMINS` is unset and slack-pim has never had a Privileged Role
 * Administrator, the caller becomes the first administrator; otherwise active PRAs get the
 * security wizard.
 */
export async function handleSetupCommand(deps: SlackDeps, origin: CommandOrigin) {
  const now = deps.context.clock.now();
  const access = await readAccess(deps.context.db, origin.userId, now);
  if (!access.isActivePra && !deps.context.adminsConfigured) {
    const claim = await claimFirstAdministrator(deps.context, origin.userId);
    if (claim === 'claimed') {
      deps.logger.info('first administrator bootstrapped by /pim setup');
      await origin.respond({
        response_type: 'ephemeral',
        text: 'You are now a permanent Privileged Role Administrator and Security Administrator, the first administrator of slack-pim; the security channel was told. Run `/pim setup` again for the security wizard, and consider making yourself eligible once others can administer.',
      });
      return;
    }
    if (claim === 'lapsed') {
      deps.logger.warn('/pim setup rejected: every Privileged Role Administrator assignment has ended; name administrators in PIM_ADMINS');
      throw new UserError(
        'not_authorized',
        'slack-pim has no Privileged Role Administrator left: every assignment of the role has ended. `/pim setup` names only the very first administrator, so nobody can take slack-pim over by running it. Ask the people who run slack-pim to list the new administrators in `PIM_ADMINS` and restart it.',
      );
    }
  }
  await requireActivePra(deps.context.db, origin.userId, now, 'run the security wizard');
  const permanent = await listPermanentActiveAssignments(deps.context.db);
  await deps.client.views.open({ trigger_id: origin.triggerId, view: buildSetupWizard(permanent) });
}

/** Handles `/pim manager @user @manager`, or opens the import form without arguments. */
export async function handleManagerCommand(deps: SlackDeps, origin: CommandOrigin, command: ManagerCommand) {
  await requireActivePra(deps.context.db, origin.userId, deps.context.clock.now(), 'record managers');
  if (command.userId === undefined || command.managerId === undefined) {
    await deps.client.views.open({ trigger_id: origin.triggerId, view: buildManagersForm() });
    return;
  }
  await requireActiveUser(deps, command.userId, 'user');
  await requireActiveUser(deps, command.managerId, 'manager');
  const { changed } = await setManagers(deps.context, {
    actorId: origin.userId,
    pairs: [{ userId: command.userId, managerId: command.managerId }],
  });
  const text =
    changed === 0
      ? `${mention(command.managerId)} was already recorded as ${mention(command.userId)}'s manager; nothing changed.`
      : `${mention(command.managerId)} is now recorded as ${mention(command.userId)}'s manager.`;
  await origin.respond({ response_type: 'ephemeral', text });
}
