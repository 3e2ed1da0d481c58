import type { AckFn, ViewResponseAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';

/**
 * Slack drops a view_submission acknowledged after 3 seconds. Field errors go in the ack, so the
 * work runs first. If it is still running at this budget, the modal closes and the outcome
 * arrives as a DM instead.
 */
export const SUBMISSION_ACK_BUDGET_MS = 2_000;

/** Errors to show in a form, by block id, or `undefined` when the submission went through. */
export type FieldErrors = Record<string, string> | undefined;

/** Bolt's `ack` of a view submission. */
type AckView = AckFn<ViewResponseAction> | AckFn<void>;

/**
 * Acks a form submission with the errors its `work` returns. When the work outlasts
 * SUBMISSION_ACK_BUDGET_MS, acks at once, which closes the form, and sends the errors to the
 * user by DM, after `failurePrefix`.
 */
export async function ackWithinBudget(
  ack: AckView,
  work: Promise<FieldErrors>,
  late: { client: WebClient; userId: string; logger: Logger; failurePrefix: string },
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), SUBMISSION_ACK_BUDGET_MS);
  });
  const first = await Promise.race([work, budget]);
  clearTimeout(timer);
  if (first !== 'late') {
    await (first === undefined ? ack() : ack({ response_action: 'errors', errors: first }));
    return;
  }

  await ack();
  late.logger.warn('form submission took longer than the ack budget; sending the outcome by DM');
  const errors = await work;
  if (errors === undefined) return;
  const text = `${late.failurePrefix} ${Object.values(errors).join(' ')}`;
  try {
    await late.client.chat.postMessage({ channel: late.userId, text });
  } catch (error) {
    late.logger.error({ err: error }, 'failed to send the late outcome of a form submission by DM');
  }
}
