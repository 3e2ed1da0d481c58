import type { Database } from '../../db/client.js';
import type { Clock } from '../clock.js';
import { formatSeconds } from '../domain/duration.js';
import type { Logger } from '../logger.js';

/** Slack's directory, as far as services need it. */
export interface Directory {
  /**
   * Lists the current members of a Slack user group. Throws `UnknownUserGroupError` when it does
   * not exist, `SlackRateLimitedError` when Slack rate-limits the read, and `SlackAccessError`
   * when Slack rejects the app's token or permissions.
   */
  listUserGroupMembers(groupId: string): Promise<string[]>;
}

/** Thrown when Slack has no user group with the given id. */
export class UnknownUserGroupError extends Error {
  readonly groupId: string;

  constructor(groupId: string) {
    super(`Slack has no user group ${groupId}`);
    this.name = 'UnknownUserGroupError';
    this.groupId = groupId;
  }
}

/** Thrown when Slack rate-limits a Web API method (HTTP 429) for `retryAfterMs`, from its `Retry-After`. */
export class SlackRateLimitedError extends Error {
  readonly method: string;
  readonly retryAfterMs: number;

  constructor(method: string, retryAfterMs: number) {
    super(`Slack rate-limited ${method}; retry after ${retryAfterMs} ms`);
    this.name = 'SlackRateLimitedError';
    this.method = method;
    this.retryAfterMs = retryAfterMs;
  }

  /** The wait in whole seconds, rounded up and at least 1, as messages show it. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }

  /** The wait as messages write it: "1 second", "20 seconds". */
  get retryAfterText(): string {
    return formatSeconds(this.retryAfterSeconds);
  }
}

/**
 * Thrown when Slack rejects the app's token or permissions for a Web API method (`code` is Slack's
 * error, such as `missing_scope` or `invalid_auth`). Retrying cannot help: an administrator must
 * fix the installation.
 */
export class SlackAccessError extends Error {
  readonly method: string;
  readonly code: string;

  constructor(method: string, code: string) {
    super(`Slack rejected ${method} with ${code}`);
    this.name = 'SlackAccessError';
    this.method = method;
    this.code = code;
  }
}

/** Dependencies of every service: the database, the clock, a logger and the security channel. */
export interface ServiceContext {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Channel for activation and alert posts; `undefined` skips those posts. */
  securityChannelId: string | undefined;
  /** Whether `PIM_ADMINS` names administrators; when it does not, the first `/pim setup` bootstraps one. */
  adminsConfigured: boolean;
  directory: Directory;
}
