import type { PimCommand } from '../../domain/command.js';
import { parseAssignmentEnd, slackDateToken } from '../../domain/dates.js';
import { UserError } from '../../errors.js';
import { requireActivePra } from '../../services/access.js';
import { assignRole, removeAssignment } from '../../services/assignments.js';
import { escapeMrkdwn, mention } from '../blocks.js';
import type { SlackDeps } from '../deps.js';
import type { CommandOrigin } from './activate.js';
import { readUserTimeZone, requireActiveUser } from '../users.js';

type AssignCommand = Extract<PimCommand, { name: 'assign' }>;
type RemoveCommand = Extract<PimCommand, { name: 'remove' }>;

/** Handles `/pim assign`: the end date is read in the assigning admin's Slack time zone. */
export async function handleAssignCommand(deps: SlackDeps, origin: CommandOrigin, command: AssignCommand) {
  // Checked before any Slack lookup so that others learn nothing about users; the service
  // checks again inside its transaction.
  await requireActivePra(deps.context.db, origin.userId, deps.context.clock.now(), 'assign roles');
  await requireActiveUser(deps, command.userId, 'assignee');
  let endsAt: Date | null = null;
  if (command.until !== undefined) {
    const timeZone = await readUserTimeZone(deps.client, origin.userId, 'you');
    const parsed = parseAssignmentEnd(command.until, timeZone, deps.context.clock.now());
    if (!parsed.ok) throw new UserError('date_invalid', parsed.reason);
    endsAt = parsed.endsAt;
  }
  const result = await assignRole(deps.context, {
    actorId: origin.userId,
    assigneeId: command.userId,
    roleQuery: command.role,
    kind: command.kind,
    endsAt,
    reason: command.reason ?? null,
  });
  // The role's rules may have given a permanent request an end, so the reply shows the stored end.
  const storedEnd = result.assignment.endsAt;
  const until = storedEnd === null ? 'with no end date' : `until ${slackDateToken(storedEnd)}`;
  const verb = result.outcome === 'added' ? 'is now' : 'is now instead';
  await origin.respond({
    response_type: 'ephemeral',
    text: `${mention(command.userId)} ${verb} ${command.kind} for *${escapeMrkdwn(result.role.name)}* ${until}. They have been told.`,
  });
}

/** Handles `/pim remove`. */
export async function handleRemoveCommand(deps: SlackDeps, origin: CommandOrigin, command: RemoveCommand) {
  const result = await removeAssignment(deps.context, {
    actorId: origin.userId,
    assigneeId: command.userId,
    roleQuery: command.role,
    reason: command.reason ?? null,
  });
  await origin.respond({
    response_type: 'ephemeral',
    text: `Removed the ${result.assignment.kind} assignment of *${escapeMrkdwn(result.role.name)}* from ${mention(command.userId)}. Any activation of it has ended, and they have been told.`,
  });
}
