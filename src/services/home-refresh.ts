import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { homeTabViewers } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';
import { listAdministratorIds } from './access.js';
import type { OutboxItem } from './outbox.js';

/**
 * Builds the Home tab refresh a change owes: the users it concerns and, with `administrators`,
 * everyone whose dashboard shows the role table (active Privileged Role Administrators and
 * Security Administrators). Who the administrators are is read when the refresh is delivered,
 * so the change's transaction pays for no extra query.
 */
export function homeRefreshes(userIds: Iterable<string>, options: { administrators?: boolean } = {}): OutboxItem[] {
  return [{ kind: 'home_refresh', payload: { userIds: [...new Set(userIds)], administrators: options.administrators === true } }];
}

/** A `home_refresh` payload; rows written before refreshes were grouped name one user. */
const refreshPayloadSchema = z.union([
  z.object({ userIds: z.array(z.string()), administrators: z.boolean() }),
  z.object({ userId: z.string() }).transform(({ userId }) => ({ userIds: [userId], administrators: false })),
]);

/** Collects the users a set of `home_refresh` payloads names; unreadable payloads are counted and skipped. */
export function collectRefreshRequests(payloads: unknown[]): { userIds: Set<string>; administrators: boolean; unreadable: number } {
  const userIds = new Set<string>();
  let administrators = false;
  let unreadable = 0;
  for (const payload of payloads) {
    const parsed = refreshPayloadSchema.safeParse(payload);
    if (!parsed.success) {
      unreadable += 1;
      continue;
    }
    for (const userId of parsed.data.userIds) userIds.add(userId);
    administrators ||= parsed.data.administrators;
  }
  return { userIds, administrators, unreadable };
}

/**
 * Resolves refresh requests to the users whose Home tab to publish now: the named users first,
 * then, when asked, the current administrators, keeping only users who have opened the tab.
 */
export async function resolveRefreshTargets(
  db: Executor,
  now: Date,
  requests: { userIds: Set<string>; administrators: boolean },
): Promise<string[]> {
  const requested = new Set(requests.userIds);
  if (requests.administrators) {
    for (const id of await listAdministratorIds(db, now)) requested.add(id);
  }
  if (requested.size === 0) return [];
  const viewers = await db
    .select({ userId: homeTabViewers.userId })
    .from(homeTabViewers)
    .where(inUserIds([...requested]));
  const isViewer = new Set(viewers.map((viewer) => viewer.userId));
  return [...requested].filter((userId) => isViewer.has(userId));
}

/** Records that the user opened the Home tab, so later changes refresh it in the background. */
export async function recordHomeTabViewer(db: Executor, userId: string): Promise<void> {
  await db.insert(homeTabViewers).values({ userId }).onConflictDoNothing();
}

/** Forgets users whose Home tab cannot be published any more (deactivated or deleted accounts). */
export async function forgetHomeTabViewers(db: Executor, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await db.delete(homeTabViewers).where(inUserIds(userIds));
}

/**
 * Matches `userIds` passed as one JSON parameter: a pass can name tens of thousands of users,
 * more than the 65,535 bind parameters one Postgres statement accepts.
 */
function inUserIds(userIds: string[]): SQL {
  return sql`${homeTabViewers.userId} in (select jsonb_array_elements_text(${JSON.stringify(userIds)}::jsonb))`;
}
