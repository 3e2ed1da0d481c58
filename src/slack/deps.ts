import type { WebClient } from '@slack/web-api';
import type { LimitFunction } from 'p-limit';
import type { Logger } from '../logger.js';
import type { ServiceContext } from '../services/context.js';

/**
 * Dependencies of Slack entry points: the services' context, the Web API client, a logger, and
 * the limiter that runs the work handlers do after their ack.
 */
export interface SlackDeps {
  context: ServiceContext;
  client: WebClient;
  logger: Logger;
  /**
   * Runs work that follows an ack, a few at a time. Requests beyond that wait their turn after
   * their ack has gone out. The event loop then answers new requests promptly under load,
   * instead of sharing every turn with dozens of half-done transactions that only queue for the
   * database pool anyway.
   */
  afterAck: LimitFunction;
}
