import type { App } from '@slack/bolt';
import { parsePimCommand, USAGE, type PimCommand } from '../../domain/command.js';
import { slackDateToken } from '../../domain/dates.js';
import { describeErrorForUser } from '../../errors.js';
import { deactivateRole } from '../../services/activations.js';
import { escapeMrkdwn } from '../blocks.js';
import type { SlackDeps } from '../deps.js';
import { handleActivateCommand, type CommandOrigin } from './activate.js';
import { handleAssignCommand, handleRemoveCommand } from './assignments.js';
import { handleManagerCommand, handleSetupCommand } from './admin.js';
import { handleHelpCommand } from './help.js';
import { handleRolesCommand, handleStatusCommand } from './overview.js';
import { handleCancelCommand, handleRequestsCommand, handleSettingsCommand } from './requests.js';

/** Registers `/pim`. It acks at once and does the work after, within Slack's 3 seconds or not. */
export function registerPimCommand(app: App, deps: SlackDeps): void {
  app.command('/pim', async ({ command, ack, respond }) => {
    await ack();
    const parsed = parsePimCommand(command.text);
    const logger = deps.logger.child({ userId: command.user_id, subcommand: parsed.name, teamId: command.team_id });
    const origin: CommandOrigin = { userId: command.user_id, triggerId: command.trigger_id, respond };
    deps.afterAck(async () => {
      try {
        await dispatch({ ...deps, logger }, origin, parsed);
      } catch (error) {
        const reply = describeErrorForUser(error, logger);
        await respond({ response_type: 'ephemeral', text: reply.text }).catch((respondError: unknown) => {
          logger.error({ err: respondError, referenceId: reply.referenceId }, 'could not send the error reply');
        });
      }
    });
  });
}

async function dispatch(deps: SlackDeps, origin: CommandOrigin, command: PimCommand): Promise<void> {
  switch (command.name) {
    case 'help':
      return handleHelpCommand(deps, origin);
    case 'activate':
      return handleActivateCommand(deps, origin, command);
    case 'deactivate': {
      const result = await deactivateRole(deps.context, { userId: origin.userId, roleQuery: command.role });
      await origin.respond({
        response_type: 'ephemeral',
        text: `:lock: *${escapeMrkdwn(result.role.name)}* has ended for you (${slackDateToken(result.activation.endedAt ?? deps.context.clock.now())}).`,
      });
      return;
    }
    case 'status':
      return handleStatusCommand(deps, origin);
    case 'roles':
      return handleRolesCommand(deps, origin);
    case 'assign':
      return handleAssignCommand(deps, origin, command);
    case 'remove':
      return handleRemoveCommand(deps, origin, command);
    case 'requests':
      return handleRequestsCommand(deps, origin);
    case 'cancel':
      return handleCancelCommand(deps, origin, command.role);
    case 'settings':
      return handleSettingsCommand(deps, origin, command.role);
    case 'setup':
      return handleSetupCommand(deps, origin);
    case 'manager':
      return handleManagerCommand(deps, origin, command);
    case 'invalid':
      deps.logger.warn({ code: 'usage' }, 'command rejected');
      await origin.respond({
        response_type: 'ephemeral',
        text: `${command.message}\nUsage: \`${USAGE[command.subcommand].usage}\``,
      });
      return;
    case 'unknown':
      deps.logger.warn({ code: 'usage' }, 'unknown subcommand');
      return handleHelpCommand(deps, origin, `\`${escapeMrkdwn(command.word)}\` is not a /pim command.`);
  }
}
