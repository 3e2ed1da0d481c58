import { and, asc, eq, gt, inArray, isNull, lte, or } from 'drizzle-orm';
import { activations, assignments, roles } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';

/** One line of a user's status: a role and until when it applies (`null` = permanent). */
export interface StatusEntry {
  roleId: string;
  roleSlug: string;
  roleName: string;
  endsAt: Date | null;
}

/** A user's roles at one moment. */
export interface UserStatus {
  eligible: StatusEntry[];
  /** Held now: activations (with their id) and active assignments. */
  active: (StatusEntry & { source: 'activation' | 'assignment'; activationId?: string })[];
  pending: (StatusEntry & { requestedAt: Date; activationId: string })[];
}

/** Reads the user's eligible roles, active roles and pending requests at `now`. */
export async function readUserStatus(db: Executor, userId: string, now: Date): Promise<UserStatus> {
  const held = await db
    .select({
      roleId: roles.id,
      roleSlug: roles.slug,
      roleName: roles.name,
      kind: assignments.kind,
      endsAt: assignments.endsAt,
    })
    .from(assignments)
    .innerJoin(roles, eq(roles.id, assignments.roleId))
    .where(
      and(
        eq(assignments.userId, userId),
        eq(assignments.status, 'current'),
        lte(assignments.startsAt, now),
        or(isNull(assignments.endsAt), gt(assignments.endsAt, now)),
      ),
    )
    .orderBy(asc(roles.name));
  const open = await db
    .select({
      roleId: roles.id,
      roleSlug: roles.slug,
      roleName: roles.name,
      activationId: activations.id,
      status: activations.status,
      endsAt: activations.endsAt,
      requestedAt: activations.requestedAt,
    })
    .from(activations)
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(and(eq(activations.userId, userId), inArray(activations.status, ['active', 'pending_approval'])))
    .orderBy(asc(roles.name));

  const entry = (row: { roleId: string; roleSlug: string; roleName: string; endsAt: Date | null }): StatusEntry => ({
    roleId: row.roleId,
    roleSlug: row.roleSlug,
    roleName: row.roleName,
    endsAt: row.endsAt,
  });
  return {
    eligible: held.filter((row) => row.kind === 'eligible').map(entry),
    active: [
      ...open
        .filter((row) => row.status === 'active')
        .map((row) => ({ ...entry(row), source: 'activation' as const, activationId: row.activationId })),
      ...held.filter((row) => row.kind === 'active').map((row) => ({ ...entry(row), source: 'assignment' as const })),
    ],
    pending: open
      .filter((row) => row.status === 'pending_approval')
      .map((row) => ({ ...entry(row), requestedAt: row.requestedAt, activationId: row.activationId })),
  };
}
