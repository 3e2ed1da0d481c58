import { and, asc, eq, gt, isNotNull, isNull, lte, ne, or, sql } from 'drizzle-orm';
import { assignments } from '../../db/schema.js';
import type { Executor, Transaction } from '../../db/client.js';
import { END_NOTICE_LEAD_DAYS, endNoticeLeadDays, nextEndNoticeAt } from '../domain/assignment-ending.js';
import { PRIVILEGED_ROLE_ADMINISTRATOR } from '../domain/roles.js';
import { closeOpenActivation } from './activation-ending.js';
import { cancelPendingOnRemoval } from './approvals.js';
import { appendAudit, SYSTEM_ACTOR } from './audit.js';
import type { ServiceContext } from './context.js';
import { homeRefreshes } from './home-refresh.js';
import { enqueueOutbox, type OutboxItem } from './outbox.js';
import { listRoles, type Role } from './roles.js';

type AssignmentRow = typeof assignments.$inferSelect;

/** The result of an assignment timer (end notice or expiry) firing. */
export type AssignmentTimerOutcome =
  | { outcome: 'done' }
  /** Not due yet; `endsAt` is the assignment's current end, so a job scheduled for an older end can drop itself. */
  | { outcome: 'not_due'; dueAt: Date; endsAt: Date | null }
  | { outcome: 'nothing_to_do' };

/**
 * Builds the jobs a time-bound assignment owes: its expiry and its next end notice. A
 * permanent assignment owes none. Jobs scheduled for an earlier end date find the new one
 * when they fire and drop themselves.
 */
export function assignmentTimerItems(assignment: AssignmentRow): OutboxItem[] {
  if (assignment.endsAt === null || assignment.status !== 'current') return [];
  const endsAt = assignment.endsAt.toISOString();
  const items: OutboxItem[] = [
    { kind: 'assignment_timer', payload: { assignmentId: assignment.id, timer: 'expire', at: endsAt, endsAt, sequence: 0 } },
  ];
  const noticeAt = nextEndNoticeAt(assignment.endsAt, assignment.endNoticesSent);
  if (noticeAt !== null) {
    items.push({
      kind: 'assignment_timer',
      payload: {
        assignmentId: assignment.id,
        timer: 'notice',
        at: noticeAt.toISOString(),
        endsAt,
        sequence: assignment.endNoticesSent,
      },
    });
  }
  return items;
}

/**
 * Ends a time-bound assignment whose end date has passed. Safe to call any number of times
 * from any number of processes: the conditional update lets one caller move it from `current`
 * to `expired`, and only that caller ends the activation or request made from it, tells the
 * holder and writes the audit event.
 */
export async function expireAssignment(context: ServiceContext, assignmentId: string): Promise<AssignmentTimerOutcome> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const [expired] = await tx
      .update(assignments)
      .set({ status: 'expired', endedAt: now, endedBy: SYSTEM_ACTOR })
      .where(
        and(
          eq(assignments.id, assignmentId),
          eq(assignments.status, 'current'),
          isNotNull(assignments.endsAt),
          lte(assignments.endsAt, now),
        ),
      )
      .returning();
    if (expired === undefined) {
      const current = await readAssignment(tx, assignmentId);
      if (current?.status !== 'current' || current.endsAt === null) return { outcome: 'nothing_to_do' };
      return { outcome: 'not_due', dueAt: current.endsAt, endsAt: current.endsAt };
    }

    const role = await readRole(tx, expired.roleId);
    const outbox: OutboxItem[] = [];
    if (expired.kind === 'eligible') {
      await closeOpenActivation(tx, {
        roleId: role.id,
        roleName: role.name,
        userId: expired.userId,
        now,
        endedBy: SYSTEM_ACTOR,
        reason: 'assignment_expired',
        outbox,
      });
      await cancelPendingOnRemoval(tx, {
        role,
        userId: expired.userId,
        actorId: SYSTEM_ACTOR,
        now,
        reason: 'eligibility expired',
      });
    }
    outbox.push({
      kind: 'notice',
      payload: {
        to: { userId: expired.userId },
        notice: {
          type: 'assignment_expired',
          assignmentId: expired.id,
          userId: expired.userId,
          roleName: role.name,
          kind: expired.kind,
          endedAt: now.toISOString(),
        },
      },
    });
    if (await isLastActivePraAssignment(tx, role, expired, now)) {
      outbox.push(...lastAdminWarning(context, expired, 'expired'));
    }
    outbox.push(...homeRefreshes([expired.userId], { administrators: true }));
    await enqueueOutbox(tx, outbox);
    await appendAudit(tx, {
      occurredAt: now,
      actorId: SYSTEM_ACTOR,
      action: 'assignment.expired',
      targetType: 'assignment',
      targetId: expired.id,
      roleId: role.id,
      subjectUserId: expired.userId,
      before: { status: 'current', kind: expired.kind, endsAt: expired.endsAt?.toISOString() ?? null },
      after: { status: 'expired', endedAt: now.toISOString() },
    });
    return { outcome: 'done' };
  });
}

/**
 * Sends the next end notice of a time-bound assignment when it is due. The notice count in the
 * conditional update makes a repeated job or a racing sweep send each notice once.
 */
export async function sendAssignmentEndNotice(
  context: ServiceContext,
  assignmentId: string,
): Promise<AssignmentTimerOutcome> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const current = await readAssignment(tx, assignmentId);
    if (current?.status !== 'current' || current.endsAt === null) return { outcome: 'nothing_to_do' };
    const endsAt = current.endsAt;
    const dueAt = nextEndNoticeAt(endsAt, current.endNoticesSent);
    const leadDays = endNoticeLeadDays(current.endNoticesSent);
    if (dueAt === null || leadDays === undefined || endsAt.getTime() <= now.getTime()) return { outcome: 'nothing_to_do' };
    if (dueAt.getTime() > now.getTime()) return { outcome: 'not_due', dueAt, endsAt };

    const [updated] = await tx
      .update(assignments)
      .set({ endNoticesSent: current.endNoticesSent + 1 })
      .where(
        and(
          eq(assignments.id, assignmentId),
          eq(assignments.status, 'current'),
          eq(assignments.endNoticesSent, current.endNoticesSent),
          eq(assignments.endsAt, endsAt),
        ),
      )
      .returning();
    if (updated === undefined) return { outcome: 'nothing_to_do' };

    const role = await readRole(tx, updated.roleId);
    const outbox: OutboxItem[] = [
      {
        kind: 'notice',
        payload: {
          to: { userId: updated.userId },
          notice: {
            type: 'assignment_ending',
            assignmentId: updated.id,
            userId: updated.userId,
            roleName: role.name,
            kind: updated.kind,
            endsAt: endsAt.toISOString(),
            leadDays,
          },
        },
      },
      ...assignmentTimerItems(updated).filter((item) => item.kind === 'assignment_timer' && item.payload.timer === 'notice'),
    ];
    if (await isLastActivePraAssignment(tx, role, updated, endsAt)) {
      outbox.push(...lastAdminWarning(context, updated, 'notice'));
    }
    await enqueueOutbox(tx, outbox);
    await appendAudit(tx, {
      occurredAt: now,
      actorId: SYSTEM_ACTOR,
      action: 'assignment.end_notice_sent',
      targetType: 'assignment',
      targetId: updated.id,
      roleId: role.id,
      subjectUserId: updated.userId,
      after: { leadDays, endsAt: endsAt.toISOString(), endNoticesSent: updated.endNoticesSent },
    });
    return { outcome: 'done' };
  });
}

/**
 * Reports whether `assignment` is an active Privileged Role Administrator assignment and no
 * other active one lasts beyond `at`: when it ends, nobody is left who can manage slack-pim.
 */
export async function isLastActivePraAssignment(
  db: Executor,
  role: Role,
  assignment: AssignmentRow,
  at: Date,
): Promise<boolean> {
  if (role.slug !== PRIVILEGED_ROLE_ADMINISTRATOR || assignment.kind !== 'active') return false;
  const others = await db
    .select({ id: assignments.id })
    .from(assignments)
    .where(
      and(
        eq(assignments.roleId, role.id),
        eq(assignments.status, 'current'),
        eq(assignments.kind, 'active'),
        ne(assignments.id, assignment.id),
        or(isNull(assignments.endsAt), gt(assignments.endsAt, at)),
      ),
    )
    .limit(1);
  return others.length === 0;
}

/** Builds the security channel warning that the last active administrator assignment ends. */
export function lastAdminWarning(
  context: ServiceContext,
  assignment: AssignmentRow,
  stage: 'assigned' | 'notice' | 'expired',
): OutboxItem[] {
  if (context.securityChannelId === undefined || assignment.endsAt === null) return [];
  return [
    {
      kind: 'notice',
      payload: {
        to: { channelId: context.securityChannelId },
        notice: {
          type: 'last_admin_expiring',
          assignmentId: assignment.id,
          userId: assignment.userId,
          endsAt: assignment.endsAt.toISOString(),
          stage,
        },
      },
    },
  ];
}

/** A current time-bound assignment with its end and how many end notices went out. */
export interface AssignmentTimers {
  id: string;
  endsAt: Date;
  endNoticesSent: number;
}

/** Lists current assignments whose expiry or next end notice is due at `now`. */
export async function findDueAssignments(db: Executor, now: Date, limit: number): Promise<AssignmentTimers[]> {
  // The lead time of the next notice, in days, by notices already sent; 0 past the last one.
  const leadDays = sql.join(
    END_NOTICE_LEAD_DAYS.map((days, index) => sql`when ${index} then ${days}`),
    sql` `,
  );
  const rows = await db
    .select({ id: assignments.id, endsAt: assignments.endsAt, endNoticesSent: assignments.endNoticesSent })
    .from(assignments)
    .where(
      and(
        eq(assignments.status, 'current'),
        isNotNull(assignments.endsAt),
        sql`${assignments.endsAt} <= ${now.toISOString()}::timestamptz
          + make_interval(days => (case ${assignments.endNoticesSent} ${leadDays} else 0 end)::int)`,
      ),
    )
    .orderBy(asc(assignments.endsAt))
    .limit(limit);
  return rows.flatMap((row) => (row.endsAt === null ? [] : [{ ...row, endsAt: row.endsAt }]));
}

/** Lists every current time-bound assignment, to rebuild its jobs after Redis lost them. */
export async function listTimeBoundAssignments(db: Executor): Promise<AssignmentRow[]> {
  return db
    .select()
    .from(assignments)
    .where(and(eq(assignments.status, 'current'), isNotNull(assignments.endsAt)));
}

async function readAssignment(db: Executor, assignmentId: string): Promise<AssignmentRow | undefined> {
  const [row] = await db.select().from(assignments).where(eq(assignments.id, assignmentId));
  return row;
}

async function readRole(tx: Transaction, roleId: string): Promise<Role> {
  const role = (await listRoles(tx, { includeDeleted: true })).find((candidate) => candidate.id === roleId);
  if (role === undefined) throw new Error(`role ${roleId} not found`);
  return role;
}
