import type { App } from '@slack/bolt';
import { checkActivationRequest } from '../domain/activation.js';
import { parseDuration } from '../domain/duration.js';
import { describeErrorForUser, UserError, type FormField } from '../errors.js';
import type { Logger } from '../logger.js';
import { activateRole } from '../services/activations.js';
import { listRoles } from '../services/roles.js';
import { ACTIVATION_BLOCKS, ACTIVATION_CALLBACK_ID, readActivationSubmission } from './activation-modal.js';
import type { SlackDeps } from './deps.js';
import { ackWithinBudget, type FieldErrors } from './submission-budget.js';

type BlockId = (typeof ACTIVATION_BLOCKS)[keyof typeof ACTIVATION_BLOCKS];
type BlockErrors = Partial<Record<BlockId, string>>;

// A ticket problem is shown under the ticket number, the field that is checked last.
const FIELD_BLOCKS: Record<FormField, BlockId> = {
  role: ACTIVATION_BLOCKS.role,
  duration: ACTIVATION_BLOCKS.duration,
  justification: ACTIVATION_BLOCKS.justification,
  ticket: ACTIVATION_BLOCKS.ticketNumber,
  reason: ACTIVATION_BLOCKS.justification,
  // Role form fields never come from an activation; the role field is the nearest place to show them.
  name: ACTIVATION_BLOCKS.role,
  slug: ACTIVATION_BLOCKS.role,
  description: ACTIVATION_BLOCKS.role,
};
type Outcome = { kind: 'done' } | { kind: 'field_errors'; errors: BlockErrors } | { kind: 'failed'; text: string };

/** Registers the activation modal's submission: field errors in the modal, else activate. */
export function registerActivationSubmission(app: App, deps: SlackDeps): void {
  app.view(ACTIVATION_CALLBACK_ID, async ({ ack, body, view }) => {
    const userId = body.user.id;
    const logger = deps.logger.child({ userId, viewId: view.id });
    const work = submitActivation(deps, userId, view.state.values, logger).then(toFieldErrors);
    await ackWithinBudget(ack, work, {
      client: deps.client,
      userId,
      logger,
      failurePrefix: 'Your activation did not go through:',
    });
  });
}

function toFieldErrors(outcome: Outcome): FieldErrors {
  if (outcome.kind === 'done') return undefined;
  if (outcome.kind === 'failed') return { [ACTIVATION_BLOCKS.role]: outcome.text };
  return outcome.errors;
}

async function submitActivation(
  deps: SlackDeps,
  userId: string,
  values: Parameters<typeof readActivationSubmission>[0],
  logger: Logger,
): Promise<Outcome> {
  try {
    const submission = readActivationSubmission(values);
    if (submission.roleSlug === undefined) {
      return { kind: 'field_errors', errors: { [ACTIVATION_BLOCKS.role]: 'Choose a role.' } };
    }
    const duration = parseDuration(submission.durationText ?? '');
    const errors: BlockErrors = {};
    if (!duration.ok) errors.duration = duration.reason;
    const role = (await listRoles(deps.context.db)).find((candidate) => candidate.slug === submission.roleSlug);
    if (role !== undefined) {
      const check = checkActivationRequest(role.name, role.settings, {
        durationMinutes: duration.ok ? duration.minutes : undefined,
        justification: submission.justification,
        ticketSystem: submission.ticketSystem,
        ticketNumber: submission.ticketNumber,
      });
      if (!check.ok) {
        for (const problem of check.problems) errors[FIELD_BLOCKS[problem.field]] ??= problem.message;
      }
    }
    if (Object.keys(errors).length > 0) {
      logger.warn({ fields: Object.keys(errors) }, 'activation form rejected');
      return { kind: 'field_errors', errors };
    }

    await activateRole(deps.context, {
      userId,
      roleQuery: submission.roleSlug,
      durationMinutes: duration.ok ? duration.minutes : undefined,
      justification: submission.justification,
      ticketSystem: submission.ticketSystem,
      ticketNumber: submission.ticketNumber,
    });
    return { kind: 'done' };
  } catch (error) {
    const reply = describeErrorForUser(error, logger);
    if (error instanceof UserError) {
      return { kind: 'field_errors', errors: { [FIELD_BLOCKS[error.field ?? 'role']]: reply.text } };
    }
    return { kind: 'failed', text: reply.text };
  }
}
