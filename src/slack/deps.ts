import type { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';
import type { ServiceContext } from '../services/context.js';
import type { UserGroupCache } from './user-group-cache.js';

/**
 * Dependencies of Slack entry points: the services' context, the Web API client, a logger, the
 * cache of user group members, and the limiter that runs the work handlers do after their ack.
 */
export interface SlackDeps {
  context: ServiceContext;
  client: WebClient;
  logger: Logger;
  /** The cache behind `context.directory`, which Slack's user group events invalidate. */
  userGroupCache: Pick<UserGroupCache, 'invalidate'>;
  /**
   * Queues work that follows an ack and returns at once, so Bolt releases the request while the
   * work waits. The work runs a few at a time and counts as in flight for a graceful shutdown.
   * Under a burst the event loop then answers new requests promptly, instead of sharing every
   * turn with dozens of half-done transactions that only queue for the database pool anyway.
   * The work must report its own errors to the user.
   */
  afterAck: (work: () => Promise<void>) => void;
}
