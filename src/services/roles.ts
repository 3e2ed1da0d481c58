import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { appState, roles } from '../../db/schema.js';
import type { Database, Executor } from '../../db/client.js';
import { BUILTIN_ROLES, resolveRole } from '../domain/roles.js';
import { DEFAULT_ROLE_SETTINGS, readRoleSettings, type RoleSettings } from '../domain/role-settings.js';
import { UserError } from '../errors.js';
import { appendAudit, SYSTEM_ACTOR } from './audit.js';

/** A role with its settings read and defaults filled. */
export interface Role {
  id: string;
  slug: string;
  name: string;
  description: string;
  builtin: boolean;
  settings: RoleSettings;
}

/** A role with the number of current holders of each kind. */
export interface RoleSummary extends Role {
  eligibleCount: number;
  activeCount: number;
  permanentCount: number;
}

const CATALOG_SEEDED_KEY = 'catalog_seeded';

/**
 * Seeds the built-in role catalog the first time slack-pim starts on a database. Later starts
 * leave the roles alone, so administrators' edits survive restarts.
 */
export async function seedRoleCatalog(db: Database, now: Date): Promise<{ seeded: boolean }> {
  return db.transaction(async (tx) => {
    const marker = await tx
      .insert(appState)
      .values({ key: CATALOG_SEEDED_KEY, value: { at: now.toISOString() } })
      .onConflictDoNothing()
      .returning({ key: appState.key });
    if (marker.length === 0) return { seeded: false };
    const inserted = await tx
      .insert(roles)
      .values(BUILTIN_ROLES.map((role) => ({ ...role, builtin: true, settings: DEFAULT_ROLE_SETTINGS })))
      .onConflictDoNothing()
      .returning({ id: roles.id, slug: roles.slug });
    await appendAudit(tx, {
      occurredAt: now,
      actorId: SYSTEM_ACTOR,
      action: 'roles.seeded',
      targetType: 'installation',
      targetId: CATALOG_SEEDED_KEY,
      after: { roles: inserted.map((role) => role.slug), settings: DEFAULT_ROLE_SETTINGS },
    });
    return { seeded: true };
  });
}

/** Lists every role, by name; deleted roles only with `includeDeleted`. */
export async function listRoles(db: Executor, options: { includeDeleted?: boolean } = {}): Promise<Role[]> {
  const rows = await db
    .select()
    .from(roles)
    .where(options.includeDeleted === true ? undefined : isNull(roles.deletedAt))
    .orderBy(asc(roles.name));
  return rows.map(toRole);
}

/** Finds a role that is not deleted by id. */
export async function findRoleById(db: Executor, id: string): Promise<Role | undefined> {
  const [row] = await db.select().from(roles).where(and(eq(roles.id, id), isNull(roles.deletedAt)));
  return row === undefined ? undefined : toRole(row);
}

/** Finds a role that is not deleted by slug. */
export async function findRoleBySlug(db: Executor, slug: string): Promise<Role | undefined> {
  const [row] = await db.select().from(roles).where(and(eq(roles.slug, slug), isNull(roles.deletedAt)));
  return row === undefined ? undefined : toRole(row);
}

/** Resolves what a user typed (slug, name or unambiguous prefix) to one role, or throws. */
export function pickRole<T extends { slug: string; name: string }>(query: string, candidates: readonly T[]): T {
  const result = resolveRole(query, candidates);
  if (result.ok) return result.role;
  throw new UserError(result.code, result.message, 'role');
}

/** Lists roles with counts of current eligible, active and permanent holders at `now`. */
export async function summarizeRoles(db: Executor, now: Date): Promise<RoleSummary[]> {
  // postgres.js binds a Date inside a raw drizzle `sql` template as text, so pass ISO text and cast.
  const at = now.toISOString();
  const rows = await db.execute<{
    id: string;
    eligible_count: number;
    active_count: number;
    permanent_count: number;
  }>(sql`
    -- One pass over each table with grouped counts: correlated subqueries per role cost a scan
    -- of the assignments per role, which grows with roles times assignments.
    with held as (
      select role_id, user_id, kind from assignments
      where status = 'current' and starts_at <= ${at}::timestamptz
        and (ends_at is null or ends_at > ${at}::timestamptz)
    ),
    eligible as (
      select role_id, count(*)::int as n from held where kind = 'eligible' group by role_id
    ),
    active_holders as (
      select role_id, count(distinct user_id)::int as n from (
        select role_id, user_id from held where kind = 'active'
        union
        select role_id, user_id from activations where status = 'active' and ends_at > ${at}::timestamptz
      ) holders group by role_id
    ),
    permanent as (
      select role_id, count(*)::int as n from assignments
      where status = 'current' and kind = 'active' and ends_at is null group by role_id
    )
    select r.id,
      coalesce(e.n, 0) as eligible_count,
      coalesce(h.n, 0) as active_count,
      coalesce(p.n, 0) as permanent_count
    from roles r
    left join eligible e on e.role_id = r.id
    left join active_holders h on h.role_id = r.id
    left join permanent p on p.role_id = r.id`);
  const counts = new Map(rows.map((row) => [row.id, row]));
  const all = await listRoles(db);
  return all.map((role) => {
    const count = counts.get(role.id);
    return {
      ...role,
      eligibleCount: count?.eligible_count ?? 0,
      activeCount: count?.active_count ?? 0,
      permanentCount: count?.permanent_count ?? 0,
    };
  });
}

function toRole(row: typeof roles.$inferSelect): Role {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    builtin: row.builtin,
    settings: readRoleSettings(row.settings),
  };
}
