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
  let hint = 'Ask a Privileged Role Administrator to do it for you.';
  if (access.isEligiblePra) {
    hint = 'You are eligible for it: activate it first with `/pim activate privileged-role-administrator 1h <reason>`.';
  } else if (access.isActiveSecurityAdmin) {
    hint = 'Security Administrators can see the dashboard, roles and assignments, but change nothing except alerts.';
  }
  throw new UserError('not_authorized', `Only an active Privileged Role Administrator can ${action}. ${hint}`);
}

/**
 * Throws `not_authorized` unless `userId` holds Privileged Role Administrator or Security
 * Administrator right now, the roles that may see the administration pages. Returns whether
 * they may also change things.
 */
export async function requireAdministratorView(db: Executor, userId: string, now: Date): Promise<{ canChange: boolean }> {
  const access = await readAccess(db, userId, now);
  if (access.isActivePra || access.isActiveSecurityAdmin) return { canChange: access.isActivePra };
  const hint = access.isEligiblePra
    ? ' You are eligible for Privileged Role Administrator: activate it first.'
    : '';
  throw new UserError(
    'not_authorized',
    `Only an active Privileged Role Administrator or Security Administrator can see this.${hint}`,
  );
}

/**
 * Reports whether slack-pim has ever had a Privileged Role Administrator: whether any assignment
 * of the role exists, current or ended. Ended assignments stay in the table, so this stays true
 * once the first administrator has been made.
 */
export async function praEverAssigned(db: Executor): Promise<boolean> {
  const rows = await db
    .select({ id: assignments.id })
    .from(assignments)
    .innerJoin(roles, eq(roles.id, assignments.roleId))
    .where(eq(roles.slug, PRIVILEGED_ROLE_ADMINISTRATOR))
    .limit(1);
  return rows.length > 0;
}

/** Lists the users who hold Privileged Role Administrator at `now`, by assignment or activation. */
export async function listActivePraIds(db: Executor, now: Date): Promise<string[]> {
  return listActiveHolderIds(db, now, [PRIVILEGED_ROLE_ADMINISTRATOR]);
}

/** Lists the users who see the administrators' dashboard at `now`: active PRAs and Security Administrators. */
export async function listAdministratorIds(db: Executor, now: Date): Promise<string[]> {
  return listActiveHolderIds(db, now, [PRIVILEGED_ROLE_ADMINISTRATOR, SECURITY_ADMINISTRATOR]);
}

async function listActiveHolderIds(db: Executor, now: Date, slugs: string[]): Promise<string[]> {
  const slugList = sql.join(
    slugs.map((slug) => sql`${slug}`),
    sql`, `,
  );
  const rows = await db.execute<{ user_id: string }>(sql`
    select a.user_id from assignments a join roles r on r.id = a.role_id
      where r.slug in (${slugList}) and a.status = 'current' and a.kind = 'active'
        and a.starts_at <= ${now.toISOString()}::timestamptz
        and (a.ends_at is null or a.ends_at > ${now.toISOString()}::timestamptz)
    union
    select v.user_id from activations v join roles r on r.id = v.role_id
      where r.slug in (${slugList}) and v.status = 'active'
        and v.ends_at > ${now.toISOString()}::timestamptz
    order by 1`);
  return rows.map((row) => row.user_id);
}
