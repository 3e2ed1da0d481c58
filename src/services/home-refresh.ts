import type { Executor } from '../../db/client.js';
import { listAdministratorIds } from './access.js';
import type { OutboxItem } from './outbox.js';

/**
 * Builds the Home tab refreshes a change owes: the users it concerns and, with
 * `administrators`, everyone whose dashboard shows the role table (active Privileged Role
 * Administrators and Security Administrators). `enqueueOutbox` folds repeats into one.
 */
export async function homeRefreshes(
  db: Executor,
  now: Date,
  userIds: Iterable<string>,
  options: { administrators?: boolean } = {},
): Promise<OutboxItem[]> {
  const targets = new Set(userIds);
  if (options.administrators === true) {
    for (const id of await listAdministratorIds(db, now)) targets.add(id);
  }
  return [...targets].map((userId) => ({ kind: 'home_refresh', payload: { userId } }));
}
