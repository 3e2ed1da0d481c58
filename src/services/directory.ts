import { eq } from 'drizzle-orm';
import { directoryUsers } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';
import { UserError } from '../errors.js';
import { requireActivePra } from './access.js';
import { appendAudit, SYSTEM_ACTOR } from './audit.js';
import type { ServiceContext } from './context.js';
import { homeRefreshes } from './home-refresh.js';
import { enqueueOutbox } from './outbox.js';

/** A user and the manager to record for them. */
export interface ManagerPair {
  userId: string;
  managerId: string;
}

/**
 * Records each user's manager, all or none, with one audit event per change. Pairs that
 * change nothing are skipped. Active PRAs only. Returns how many managers changed.
 */
export async function setManagers(
  context: ServiceContext,
  request: { actorId: string; pairs: readonly ManagerPair[] },
): Promise<{ changed: number }> {
  const now = context.clock.now();
  for (const pair of request.pairs) {
    if (pair.userId === pair.managerId) {
      throw new UserError('usage', `<@${pair.userId}> cannot be their own manager.`);
    }
  }
  return context.db.transaction(async (tx) => {
    await requireActivePra(tx, request.actorId, now, 'record managers');
    let changed = 0;
    for (const pair of request.pairs) {
      const before = await readDirectoryUser(tx, pair.userId);
      if (before?.managerId === pair.managerId) continue;
      await tx
        .insert(directoryUsers)
        .values({ userId: pair.userId, managerId: pair.managerId, managerSetBy: request.actorId, updatedAt: now })
        .onConflictDoUpdate({
          target: directoryUsers.userId,
          set: { managerId: pair.managerId, managerSetBy: request.actorId, updatedAt: now },
        });
      changed += 1;
      await appendAudit(tx, {
        occurredAt: now,
        actorId: request.actorId,
        action: 'directory.manager_set',
        targetType: 'user',
        targetId: pair.userId,
        subjectUserId: pair.userId,
        before: { managerId: before?.managerId ?? null },
        after: { managerId: pair.managerId },
      });
    }
    return { changed };
  });
}

/**
 * Records what a Slack lookup showed about a user: deactivated (`users.info` returned
 * `deleted: true`) or not. Only a change is written and audited, so calling it on every lookup
 * is cheap. A change refreshes the administrators' dashboards, which flag deactivated holders.
 */
export async function recordUserLookup(context: ServiceContext, userId: string, deactivated: boolean): Promise<void> {
  const now = context.clock.now();
  const before = await readDirectoryUser(context.db, userId);
  if ((before?.deactivated ?? false) === deactivated) return;
  await context.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(directoryUsers)
      .values({ userId, deactivated, deactivatedSeenAt: deactivated ? now : null, updatedAt: now })
      .onConflictDoUpdate({
        target: directoryUsers.userId,
        set: { deactivated, deactivatedSeenAt: deactivated ? now : null, updatedAt: now },
        setWhere: eq(directoryUsers.deactivated, !deactivated),
      })
      .returning();
    // Another process recorded the same change a moment ago.
    if (row === undefined) return;
    await enqueueOutbox(tx, homeRefreshes([], { administrators: true }));
    await appendAudit(tx, {
      occurredAt: now,
      actorId: SYSTEM_ACTOR,
      action: deactivated ? 'directory.user_deactivated' : 'directory.user_reactivated',
      targetType: 'user',
      targetId: userId,
      subjectUserId: userId,
      before: { deactivated: !deactivated },
      after: { deactivated },
    });
  });
}

/** Reads what slack-pim recorded about a user, if anything. */
export async function readDirectoryUser(db: Executor, userId: string) {
  const [row] = await db.select().from(directoryUsers).where(eq(directoryUsers.userId, userId));
  return row;
}
