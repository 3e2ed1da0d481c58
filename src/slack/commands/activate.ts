import type { RespondFn } from '@slack/bolt';
import { endsWithAssignment } from '../../domain/activation.js';
import type { PimCommand } from '../../domain/command.js';
import { slackDateToken } from '../../domain/dates.js';
import { formatDuration } from '../../domain/duration.js';
import { findExactRole } from '../../domain/roles.js';
import { UserError } from '../../errors.js';
import { activateRole, listEligibleRoles } from '../../services/activations.js';
import { listRoles, pickRole, type Role } from '../../services/roles.js';
import { buildActivationModal, type ActivationPrefill } from '../activation-modal.js';
import { escapeMrkdwn, mention } from '../blocks.js';
import type { SlackDeps } from '../deps.js';

type ActivateCommand = Extract<PimCommand, { name: 'activate' }>;

/** Origin of a command: the user, the trigger for opening a modal and the reply function. */
export interface CommandOrigin {
  userId: string;
  triggerId: string;
  respond: RespondFn;
}

/**
 * Handles `/pim activate`. With role, duration and (when required) a justification, activates
 * at once; otherwise opens the modal, pre-filled with what was typed.
 */
export async function handleActivateCommand(deps: SlackDeps, origin: CommandOrigin, command: ActivateCommand) {
  const now = deps.context.clock.now();
  const eligible = await listEligibleRoles(deps.context.db, origin.userId, now);

  let role: Role | undefined;
  if (command.role !== undefined) {
    // An exact slug or name among the user's eligible roles needs no catalog read. Anything
    // else is resolved against the whole catalog, so prefixes and errors stay the same.
    role = findExactRole(command.role, eligible) ?? pickRole(command.role, await listRoles(deps.context.db));
    if (!eligible.some((candidate) => candidate.id === role?.id)) {
      throw new UserError(
        'not_eligible',
        `You are not eligible for ${role.name}, so it cannot be activated. Ask a Privileged Role Administrator if you need it.`,
      );
    }
  } else if (eligible.length === 0) {
    throw new UserError(
      'not_eligible',
      'You are not eligible for any role yet. A Privileged Role Administrator can make you eligible with `/pim assign`.',
    );
  }

  // A ticket can only be given in the modal, so a role that requires one always opens it.
  const complete =
    role !== undefined &&
    command.durationMinutes !== undefined &&
    (command.reason !== undefined || !role.settings.requireJustification) &&
    !role.settings.requireTicket;
  if (complete && role !== undefined) {
    const result = await activateRole(
      deps.context,
      { userId: origin.userId, roleQuery: role.slug, durationMinutes: command.durationMinutes, justification: command.reason },
      role,
    );
    const text =
      result.outcome === 'activated'
        ? `:unlock: *${escapeMrkdwn(result.role.name)}* is active for ${formatDuration(result.activation.durationMinutes)}, until ${slackDateToken(result.activation.endsAt)}${
            endsWithAssignment(result.activation, result.eligibleUntil) ? ', when your eligible assignment of the role ends' : ''
          }.`
        : `:hourglass_flowing_sand: Your request for *${escapeMrkdwn(result.role.name)}* (${formatDuration(result.activation.durationMinutes)}) is waiting for approval by ${result.approverIds.map(mention).join(', ')}. You will get a DM when it is decided.`;
    await origin.respond({ response_type: 'ephemeral', text });
    return;
  }

  const prefill: ActivationPrefill = {};
  if (role !== undefined) prefill.roleSlug = role.slug;
  if (command.durationText !== undefined) prefill.durationText = command.durationText;
  if (command.reason !== undefined) prefill.justification = command.reason;
  await deps.client.views.open({ trigger_id: origin.triggerId, view: buildActivationModal(eligible, prefill) });
}
