import type { WebClient } from '@slack/web-api';
import type { Executor } from '../../../db/client.js';
import type { Clock } from '../../clock.js';
import { readDashboard } from '../../services/dashboard.js';
import { classifySlackError } from '../notice-sender.js';
import { buildHomeView } from './view.js';

/** Reads the user's dashboard from the database now and publishes it as their Home tab. */
export async function publishHome(client: WebClient, db: Executor, clock: Clock, userId: string): Promise<void> {
  const view = buildHomeView(await readDashboard(db, userId, clock.now()));
  try {
    await client.views.publish({ user_id: userId, view });
  } catch (error) {
    throw classifySlackError(error, userId);
  }
}
