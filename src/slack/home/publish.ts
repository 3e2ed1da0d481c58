import type { View } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Executor } from '../../../db/client.js';
import type { Clock } from '../../clock.js';
import type { GroupSource } from '../../services/approver-membership.js';
import { readDashboard, type AdminDashboardReader } from '../../services/dashboard.js';
import { classifySlackError } from '../notice-sender.js';
import { buildHomeView } from './view.js';

/**
 * Builds one user's Home tab from the database now: the single entry point for building it,
 * so every caller (publishing, the benchmarks) measures and shows the same view. `readAdmin`
 * shares the administrators' part between the tabs of one refresh pass. `groups` reads the
 * approver groups, each once per build. Without it, requests sent to the user through an approver
 * group are left out, as when Slack cannot list the group.
 */
export async function buildHomeViewForUser(
  db: Executor,
  clock: Clock,
  userId: string,
  readAdmin?: AdminDashboardReader,
  groups?: GroupSource,
): Promise<View> {
  return buildHomeView(await readDashboard(db, userId, clock.now(), { ...(readAdmin && { readAdmin }), ...(groups && { groups }) }));
}

/** Reads the user's dashboard from the database now and publishes it as their Home tab. */
export async function publishHome(
  client: WebClient,
  db: Executor,
  clock: Clock,
  userId: string,
  readAdmin: AdminDashboardReader | undefined,
  groups: GroupSource,
): Promise<void> {
  const view = await buildHomeViewForUser(db, clock, userId, readAdmin, groups);
  try {
    await client.views.publish({ user_id: userId, view });
  } catch (error) {
    throw classifySlackError(error, userId);
  }
}
