import { randomBytes } from 'node:crypto';
import type { Logger } from './logger.js';
import { setRequestOutcome } from './request-context.js';

/** Stable codes for problems a user can fix; branch on these, never on message text. */
export type UserErrorCode =
  | 'usage'
  | 'role_not_found'
  | 'role_ambiguous'
  | 'duration_invalid'
  | 'duration_too_long'
  | 'justification_missing'
  | 'justification_too_long'
  | 'date_invalid'
  | 'user_not_found'
  | 'not_eligible'
  | 'already_open'
  | 'not_active'
  | 'not_authorized'
  | 'assignment_not_found'
  | 'assignment_exists'
  | 'assignment_too_long'
  | 'ticket_missing'
  | 'ticket_invalid'
  | 'no_approvers'
  | 'request_not_found'
  | 'already_decided'
  | 'settings_invalid'
  | 'role_invalid'
  | 'role_in_use'
  | 'nothing_selected'
  | 'group_check_failed'
  | 'slack_rate_limited'
  | 'slack_access_denied';

/** Modal fields that a `UserError` can point at. */
export type FormField = 'role' | 'duration' | 'justification' | 'ticket' | 'reason' | 'name' | 'slug' | 'description';

/**
 * A request that cannot be carried out as asked, with a message meant for the person who
 * asked. Thrown by services before anything is written.
 */
export class UserError extends Error {
  readonly code: UserErrorCode;
  readonly field: FormField | undefined;

  constructor(code: UserErrorCode, message: string, field?: FormField) {
    super(message);
    this.name = 'UserError';
    this.code = code;
    this.field = field;
  }
}

/** Reply text and log reference for an error that reached a Slack entry point. */
export interface ErrorReply {
  text: string;
  referenceId: string | undefined;
}

// Node and postgres.js codes for a database that cannot be reached or went away mid-query.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01',
  '57P02',
  '57P03',
]);

/**
 * Turns any error into what the user sees. A `UserError` is shown as is and logged at warn;
 * anything else gets a calm sentence with a reference id that also appears in the error log.
 */
export function describeErrorForUser(error: unknown, logger: Logger): ErrorReply {
  if (error instanceof UserError) {
    setRequestOutcome('rejected');
    logger.warn({ code: error.code }, 'request rejected');
    return { text: error.message, referenceId: undefined };
  }
  const referenceId = randomBytes(4).toString('hex');
  if (isUnavailableError(error)) {
    logger.error({ err: error, referenceId }, 'dependency unavailable while handling a request');
    setRequestOutcome('unavailable');
    return {
      // Not "nothing changed": a connection lost during COMMIT leaves the outcome unknown.
      text: `slack-pim is temporarily unavailable. Try again in a minute; \`/pim status\` shows whether anything changed. (reference ${referenceId})`,
      referenceId,
    };
  }
  setRequestOutcome('error');
  logger.error({ err: error, referenceId }, 'request failed');
  return {
    text: `Something went wrong and nothing was changed. Try again; if it keeps failing, give your administrator the reference ${referenceId}.`,
    referenceId,
  };
}

/** Reports whether `error` means Postgres or Redis could not be reached. */
export function isUnavailableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isUnavailableError(cause);
}

/** A delivery that will never succeed as written (unknown channel, invalid blocks): do not retry. */
export class PermanentDeliveryError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentDeliveryError';
    this.code = code;
  }
}

/**
 * A delivery that failed for now and may succeed later: Slack rate limits, 5xx responses, network
 * errors, or a target the administrators must fix (the app not invited to the security channel).
 * `retryAfterMs` is set when the response gave a wait time (HTTP 429 `Retry-After`).
 */
export class RetryableDeliveryError extends Error {
  readonly code: string;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.name = 'RetryableDeliveryError';
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
  }
}
