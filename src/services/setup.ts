import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { assignments, roles } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';
import { endNoticesAlreadyDue } from '../domain/assignment-ending.js';
import { readRoleSettings } from '../domain/role-settings.js';
import { UserError } from '../errors.js';
import { listActivePraIds, requireActivePra } from './access.js';
import { assignmentTimerItems } from './assignment-ending.js';
import { describeAssignment } from './assignments.js';
import { appendAudit } from './audit.js';
import type { ServiceContext } from './context.js';
import { homeRefreshes } from './home-refresh.js';
import { enqueueOutbox, type OutboxItem } from './outbox.js';

const ASSIGNMENT_ID = z.uuid();

/** A permanent active assignment, the standing access the security wizard removes. */
export interface PermanentAssignment {
  assignmentId: string;
  userId: string;
  roleId: string;
  roleName: string;
  startsAt: Date;
  assignedBy: string;
}

/** Lists the current permanent active assignments of every role, by role and user. */
export async function listPermanentActiveAssignments(db: Executor): Promise<PermanentAssignment[]> {
  return db
    .select({
      assignmentId: assignments.id,
      userId: assignments.userId,
      roleId: roles.id,
      roleName: roles.name,
      startsAt: assignments.startsAt,
      assignedBy: assignments.assignedBy,
    })
    .from(assignments)
    .innerJoin(roles, eq(roles.id, assignments.roleId))
    .where(and(eq(assignments.status, 'current'), eq(assignments.kind, 'active'), isNull(assignments.endsAt)))
    .orderBy(asc(roles.name), asc(assignments.userId));
}

/**
 * Turns the chosen permanent active assignments into eligible ones in one transaction, with an
 * audit event each. The new eligibility is permanent when the role allows it, else it ends
 * after the role's eligible assignment days. Rejected as a whole when it would leave nobody
 * holding Privileged Role Administrator. Active PRAs only. Returns how many changed; ones no
 * longer permanent and active are skipped.
 */
export async function convertToEligible(
  context: ServiceContext,
  request: { actorId: string; assignmentIds: readonly string[]; reason: string },
): Promise<{ converted: number; skipped: number }> {
  const now = context.clock.now();
  if (request.assignmentIds.length === 0) {
    throw new UserError('nothing_selected', 'Choose at least one assignment to make eligible.');
  }
  // The ids come from a submitted form, which a client can forge. Anything but a UUID names no
  // assignment and is counted as skipped.
  const ids = request.assignmentIds.filter((id) => ASSIGNMENT_ID.safeParse(id).success);
  return context.db.transaction(async (tx) => {
    await requireActivePra(tx, request.actorId, now, 'run the security wizard');
    const chosen = await tx
      .select({ assignment: assignments, settings: roles.settings, roleName: roles.name })
      .from(assignments)
      .innerJoin(roles, eq(roles.id, assignments.roleId))
      .where(sql`${assignments.id} = any(${sql.param(ids)}::uuid[])`);
    const items: OutboxItem[] = [];
    let converted = 0;
    for (const { assignment, settings, roleName } of chosen) {
      const rules = readRoleSettings(settings);
      const endsAt = rules.allowPermanentEligible ? null : new Date(now.getTime() + rules.eligibleAssignmentDays * 24 * 60 * 60_000);
      const [updated] = await tx
        .update(assignments)
        .set({ kind: 'eligible', endsAt, assignedBy: request.actorId, reason: request.reason, endNoticesSent: endNoticesAlreadyDue(endsAt, now) })
        .where(
          and(
            eq(assignments.id, assignment.id),
            eq(assignments.status, 'current'),
            eq(assignments.kind, 'active'),
            isNull(assignments.endsAt),
          ),
        )
        .returning();
      if (updated === undefined) continue;
      converted += 1;
      items.push(...assignmentTimerItems(updated));
      if (rules.notifyAssignee) {
        items.push({
          kind: 'notice',
          payload: {
            to: { userId: updated.userId },
            notice: {
              type: 'assignment_added',
              audience: 'assignee',
              assignmentId: updated.id,
              userId: updated.userId,
              roleName,
              kind: 'eligible',
              endsAt: endsAt?.toISOString() ?? null,
              assignedBy: request.actorId,
              reason: request.reason,
            },
          },
        });
      }
      await appendAudit(tx, {
        occurredAt: now,
        actorId: request.actorId,
        action: 'assignment.made_eligible',
        targetType: 'assignment',
        targetId: updated.id,
        roleId: updated.roleId,
        subjectUserId: updated.userId,
        reason: request.reason,
        before: describeAssignment(assignment),
        after: describeAssignment(updated),
      });
    }
    if ((await listActivePraIds(tx, now)).length === 0) {
      throw new UserError(
        'not_authorized',
        'This would leave nobody holding Privileged Role Administrator, so nothing was changed. Keep at least one active, or activate an eligible one first.',
      );
    }
    items.push(...homeRefreshes(chosen.map((row) => row.assignment.userId), { administrators: true }));
    await enqueueOutbox(tx, items);
    return { converted, skipped: chosen.length - converted + (request.assignmentIds.length - chosen.length) };
  });
}
