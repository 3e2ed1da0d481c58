import type { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';
import type { ServiceContext } from '../services/context.js';

/** Dependencies of Slack entry points: the services' context, the Web API client and a logger. */
export interface SlackDeps {
  context: ServiceContext;
  client: WebClient;
  logger: Logger;
}
