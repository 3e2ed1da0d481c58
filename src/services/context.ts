import type { Database } from '../../db/client.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

/** What every service needs: the database, the clock, a logger and where security posts go. */
export interface ServiceContext {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Channel for activation and alert posts; `undefined` skips those posts. */
  securityChannelId: string | undefined;
}
