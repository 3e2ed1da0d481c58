import { and, eq, gt, isNull, lte, or, sql } from 'drizzle-orm';
import { activations, assignments, roles } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';
import { PRIVILEGED_ROLE_ADMINISTRATOR, SECURITY_ADMINISTRATOR } from '../domain/roles.js';
import { UserError } from '../errors.js';

/** A user's administrative standing in slack-pim at one moment, read from the database. */
export interface Access {
  /** Holds Privileged Role Administrator now: an active assignment or an activation. */
  isActivePra: boolean;
  isActiveSecurityAdmin: boolean;
  /** Has a current eligible assignment for Privileged Role Administrator (may activate it). */
  isEligiblePra: boolean;
}

/** Reads which PIM-administration roles `userId` holds at `now`. */
export async function readAccess(db: Executor, userId: string, now: Date): Promise<Access> {
  const held = await db
    .select({ slug: roles.slug, kind: assignments.kind })
    .from(assignments)
    .innerJoin(roles, eq(roles.id, assignments.roleId))
    .where(
      and(
        eq(assignments.userId, userId),
        eq(assignments.status, 'current'),
        lte(assignments.startsAt, now),
        or(isNull(assignments.endsAt), gt(assignments.endsAt, now)),
        sql`${roles.slug} in (${PRIVILEGED_ROLE_ADMINISTRATOR}, ${SECURITY_ADMINISTRATOR})`,
      ),
    );
  const activated = await db
    .select({ slug: roles.slug })
    .from(activations)
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(
      and(
        eq(activations.userId, userId),
        eq(activations.status, 'active'),
        lte(activations.startsAt, now),
        gt(activations.endsAt, now),
        sql`${roles.slug} in (${PRIVILEGED_ROLE_ADMINISTRATOR}, ${SECURITY_ADMINISTRATOR})`,
      ),
    );
  const activeSlugs = new Set([
    ...held.filter((row) => row.kind === 'active').map((row) => row.slug),
    ...activated.map((row) => row.slug),
  ]);
  return {
    isActivePra: activeSlugs.has(PRIVILEGED_ROLE_ADMINISTRATOR),
    isActiveSecurityAdmin: activeSlugs.has(SECURITY_ADMINISTRATOR),
    isEligiblePra: held.some((row) => row.kind === 'eligible' && row.slug === PRIVILEGED_ROLE_ADMINISTRATOR),
  };
}

/** Throws `not_authorized` unless `userId` holds Privileged Role Administrator right now. */
export async function requireActivePra(db: Executor, userId: string, now: Date, action: string): Promise<void> {
  const access = await readAccess(db, userId, now);
  if (access.isActivePra) return;
  const hint = access.isEligiblePra
    ? 'You are eligible for it: activate it first with `/pim activate privileged-role-administrator 1h <reason>`.'
    : 'Ask a Privileged Role Administrator to do it for you.';
  throw new UserError('not_authorized', `Only an active Privileged Role Administrator can ${action}. ${hint}`);
}

/** Lists the users who hold Privileged Role Administrator at `now`, by assignment or activation. */
export async function listActivePraIds(db: Executor, now: Date): Promise<string[]> {
  const rows = await db.execute<{ user_id: string }>(sql`
    select a.user_id from assignments a join roles r on r.id = a.role_id
      where r.slug = ${PRIVILEGED_ROLE_ADMINISTRATOR} and a.status = 'current' and a.kind = 'active'
        and a.starts_at <= ${now.toISOString()}::timestamptz
        and (a.ends_at is null or a.ends_at > ${now.toISOString()}::timestamptz)
    union
    select v.user_id from activations v join roles r on r.id = v.role_id
      where r.slug = ${PRIVILEGED_ROLE_ADMINISTRATOR} and v.status = 'active'
        and v.ends_at > ${now.toISOString()}::timestamptz
    order by 1`);
  return rows.map((row) => row.user_id);
}
