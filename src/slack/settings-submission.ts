import type { App } from '@slack/bolt';
import { z } from 'zod';
import { describeErrorForUser, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { listRoles } from '../services/roles.js';
import { updateRoleSettings } from '../services/role-settings.js';
import { escapeMrkdwn } from './blocks.js';
import type { SlackDeps } from './deps.js';
import { SlackAccessError, SlackRateLimitedError, UnknownUserGroupError } from './directory.js';
import { readSettingsSubmission, SETTINGS_BLOCKS, SETTINGS_CALLBACK_ID } from './settings-modal.js';

const roleIdSchema = z.uuid();

/** Registers the settings modal's submission: field errors in the modal, else save and confirm by DM. */
export function registerSettingsSubmission(app: App, deps: SlackDeps): void {
  app.view(SETTINGS_CALLBACK_ID, async ({ ack, body, view }) => {
    const userId = body.user.id;
    const logger = deps.logger.child({ userId, viewId: view.id, roleId: view.private_metadata });
    try {
      const roleId = roleIdSchema.safeParse(view.private_metadata);
      const role = roleId.success ? (await listRoles(deps.context.db)).find((candidate) => candidate.id === roleId.data) : undefined;
      if (role === undefined) throw new UserError('role_not_found', 'This role no longer exists; close the form.');

      const submission = readSettingsSubmission(role.settings, view.state.values);
      if (!submission.ok) {
        logger.warn({ fields: Object.keys(submission.errors) }, 'settings form rejected');
        await ack({ response_action: 'errors', errors: submission.errors });
        return;
      }
      const groupProblem = await checkGroupsExist(deps, submission.settings.approvers.groups, logger);
      if (groupProblem !== undefined) {
        await ack({ response_action: 'errors', errors: { [SETTINGS_BLOCKS.approverGroups]: groupProblem } });
        return;
      }

      const result = await updateRoleSettings(deps.context, { actorId: userId, roleId: role.id, settings: submission.settings });
      await ack();
      logger.info({ changed: result.changed }, 'role settings saved');
      const summary = result.changed.length === 0 ? 'nothing changed' : `changed ${result.changed.join(', ')}`;
      await deps.client.chat
        .postMessage({ channel: userId, text: `Settings of *${escapeMrkdwn(role.name)}* saved: ${summary}.` })
        .catch((error: unknown) => logger.warn({ err: error }, 'could not confirm saved settings'));
    } catch (error) {
      const reply = describeErrorForUser(error, logger);
      await ack({ response_action: 'errors', errors: { [SETTINGS_BLOCKS.maxDuration]: reply.text } });
    }
  });
}

// Returns the error to show under the approver groups, or `undefined` when Slack has them all.
async function checkGroupsExist(deps: SlackDeps, groupIds: readonly string[], logger: Logger): Promise<string | undefined> {
  for (const groupId of groupIds) {
    try {
      await deps.context.directory.listUserGroupMembers(groupId);
    } catch (error) {
      if (error instanceof UnknownUserGroupError) return `Slack has no user group ${groupId}.`;
      if (error instanceof SlackAccessError) {
        logger.error({ groupId, slackError: error.code }, 'Slack rejected slack-pim reading a user group; settings not saved');
        return `Slack does not let slack-pim read user groups (${error.code}), so approvers cannot be user groups until slack-pim's installation in Slack is fixed (its token and the usergroups:read scope). Name approvers instead.`;
      }
      if (!(error instanceof SlackRateLimitedError)) throw error;
      logger.warn({ groupId, retryAfterMs: error.retryAfterMs }, 'Slack rate-limited reading a user group; settings not saved');
      return `Slack is limiting how often slack-pim may read user groups, so ${groupId} could not be checked and nothing was saved. Submit again in ${error.retryAfterText}.`;
    }
  }
  return undefined;
}
