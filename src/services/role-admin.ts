import { and, asc, eq, isNull, ne, or, sql } from 'drizzle-orm';
import { activations, assignments, roles } from '../../db/schema.js';
import type { Executor, Transaction } from '../../db/client.js';
import { DEFAULT_ROLE_SETTINGS } from '../domain/role-settings.js';
import { MAX_SLUG_LENGTH, slugify } from '../domain/roles.js';
import { UserError } from '../errors.js';
import { requireActivePra } from './access.js';
import { appendAudit } from './audit.js';
import type { ServiceContext } from './context.js';
import { homeRefreshes } from './home-refresh.js';
import { enqueueOutbox } from './outbox.js';
import { listRoles, type Role } from './roles.js';

/** Longest role name and description an administrator may enter. */
export const MAX_ROLE_NAME_LENGTH = 80;
export const MAX_ROLE_DESCRIPTION_LENGTH = 500;

const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Name, slug and description of a custom role as an administrator enters them. */
export interface RoleFields {
  name: string;
  /** Derived from the name when empty. */
  slug: string;
  description: string;
}

/** A current holder of a role: an assignment, or an activation of an eligible one. */
export interface RoleHolder {
  userId: string;
  kind: 'eligible' | 'active';
  source: 'assignment' | 'activation';
  /** The assignment's id; for an activation, the id of the eligible assignment it uses. */
  assignmentId: string;
  startsAt: Date;
  endsAt: Date | null;
  assignedBy: string;
}

/** Creates a custom role with the default settings. Active PRAs only. */
export async function createRole(context: ServiceContext, request: { actorId: string; fields: RoleFields }): Promise<Role> {
  const now = context.clock.now();
  const fields = checkRoleFields(request.fields);
  return context.db.transaction(async (tx) => {
    await requireActivePra(tx, request.actorId, now, 'create roles');
    await refuseTakenName(tx, fields, undefined);
    const [row] = await tx
      .insert(roles)
      .values({ ...fields, builtin: false, settings: DEFAULT_ROLE_SETTINGS, createdAt: now, updatedAt: now })
      .returning();
    if (row === undefined) throw new Error('role insert returned nothing');
    await enqueueOutbox(tx, homeRefreshes([], { administrators: true }));
    await appendAudit(tx, {
      occurredAt: now,
      actorId: request.actorId,
      action: 'role.created',
      targetType: 'role',
      targetId: row.id,
      roleId: row.id,
      after: fields,
    });
    return readLiveRole(tx, row.id);
  });
}

/** Changes a role's name, slug and description; built-in roles too. Active PRAs only. */
export async function updateRole(
  context: ServiceContext,
  request: { actorId: string; roleId: string; fields: RoleFields },
): Promise<Role> {
  const now = context.clock.now();
  const fields = checkRoleFields(request.fields);
  return context.db.transaction(async (tx) => {
    await requireActivePra(tx, request.actorId, now, 'edit roles');
    // Locked first, so that of two saves at once the second reads what the first wrote.
    await lockRoleRow(tx, request.roleId);
    const before = await readLiveRole(tx, request.roleId);
    // A form delivered twice, or saved without edits, changes nothing and records nothing.
    if (before.name === fields.name && before.slug === fields.slug && before.description === fields.description) {
      return before;
    }
    await refuseTakenName(tx, fields, before.id);
    await tx.update(roles).set({ ...fields, updatedAt: now }).where(eq(roles.id, before.id));
    const holders = await listRoleHolders(tx, before.id, now);
    await enqueueOutbox(tx, homeRefreshes(holders.map((holder) => holder.userId), { administrators: true }));
    await appendAudit(tx, {
      occurredAt: now,
      actorId: request.actorId,
      action: 'role.updated',
      targetType: 'role',
      targetId: before.id,
      roleId: before.id,
      before: { name: before.name, slug: before.slug, description: before.description },
      after: fields,
    });
    return { ...before, ...fields };
  });
}

/**
 * Deletes a custom role that has no current assignment. The row is kept for the records that
 * refer to it, marked deleted, and its slug and name get a suffix so they can be used again.
 */
export async function deleteRole(context: ServiceContext, request: { actorId: string; roleId: string }): Promise<Role> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    await requireActivePra(tx, request.actorId, now, 'delete roles');
    const role = await readLiveRole(tx, request.roleId);
    if (role.builtin) {
      throw new UserError('not_authorized', `${role.name} is a built-in role, so it cannot be deleted. You can rename it.`);
    }
    const [held] = await tx
      .select({ count: sql<number>`count(*)::int` })
      .from(assignments)
      .where(and(eq(assignments.roleId, role.id), eq(assignments.status, 'current')));
    if ((held?.count ?? 0) > 0) {
      throw new UserError(
        'role_in_use',
        `${role.name} still has ${held?.count ?? 0} assignment(s), so it cannot be deleted. Remove them from the role's page first.`,
      );
    }
    const suffix = `~deleted-${role.id.slice(0, 8)}`;
    await tx
      .update(roles)
      .set({ deletedAt: now, updatedAt: now, slug: `${role.slug}${suffix}`, name: `${role.name}${suffix}` })
      .where(and(eq(roles.id, role.id), isNull(roles.deletedAt)));
    await enqueueOutbox(tx, homeRefreshes([], { administrators: true }));
    await appendAudit(tx, {
      occurredAt: now,
      actorId: request.actorId,
      action: 'role.deleted',
      targetType: 'role',
      targetId: role.id,
      roleId: role.id,
      before: { name: role.name, slug: role.slug, description: role.description },
      after: { deletedAt: now.toISOString() },
    });
    return role;
  });
}

/**
 * Locks a role's row until the transaction ends. `NO KEY UPDATE` lets activations and
 * assignments that reference the role be written meanwhile.
 */
export async function lockRoleRow(tx: Transaction, roleId: string): Promise<void> {
  await tx.select({ id: roles.id }).from(roles).where(eq(roles.id, roleId)).for('no key update');
}

/** Reads a role that is not deleted, or throws `role_not_found`. */
export async function readLiveRole(db: Executor, roleId: string): Promise<Role> {
  const role = (await listRoles(db)).find((candidate) => candidate.id === roleId);
  if (role === undefined) throw new UserError('role_not_found', 'This role no longer exists.');
  return role;
}

/** Lists a role's current holders: assignments in force, then activations, by user. */
export async function listRoleHolders(db: Executor, roleId: string, now: Date): Promise<RoleHolder[]> {
  const held = await db
    .select()
    .from(assignments)
    .where(
      and(
        eq(assignments.roleId, roleId),
        eq(assignments.status, 'current'),
        or(isNull(assignments.endsAt), sql`${assignments.endsAt} > ${now.toISOString()}::timestamptz`),
      ),
    )
    .orderBy(asc(assignments.userId));
  const active = await db
    .select()
    .from(activations)
    .where(and(eq(activations.roleId, roleId), eq(activations.status, 'active')))
    .orderBy(asc(activations.userId));
  return [
    ...held.map((row) => ({
      userId: row.userId,
      kind: row.kind,
      source: 'assignment' as const,
      assignmentId: row.id,
      startsAt: row.startsAt,
      endsAt: row.endsAt,
      assignedBy: row.assignedBy,
    })),
    ...active.map((row) => ({
      userId: row.userId,
      kind: 'active' as const,
      source: 'activation' as const,
      assignmentId: row.assignmentId,
      startsAt: row.startsAt,
      endsAt: row.endsAt,
      assignedBy: row.decidedBy ?? row.userId,
    })),
  ];
}

/** Checks and normalizes role fields, or throws `role_invalid` naming the field. */
export function checkRoleFields(fields: RoleFields): RoleFields {
  const name = fields.name.trim().replace(/\s+/g, ' ');
  if (name.length === 0) throw new UserError('role_invalid', 'The name is missing.', 'name');
  if (name.length > MAX_ROLE_NAME_LENGTH) {
    throw new UserError('role_invalid', `The name is longer than ${MAX_ROLE_NAME_LENGTH} characters.`, 'name');
  }
  const slug = fields.slug.trim() === '' ? slugify(name) : fields.slug.trim().toLowerCase();
  if (slug.length === 0 || slug.length > MAX_SLUG_LENGTH || !SLUG_PATTERN.test(slug)) {
    throw new UserError(
      'role_invalid',
      `The slug must be 1 to ${MAX_SLUG_LENGTH} lowercase letters, digits and single dashes, like \`prod-db-admin\`.`,
      'slug',
    );
  }
  const description = fields.description.trim();
  if (description.length > MAX_ROLE_DESCRIPTION_LENGTH) {
    throw new UserError('role_invalid', `The description is longer than ${MAX_ROLE_DESCRIPTION_LENGTH} characters.`, 'description');
  }
  return { name, slug, description };
}

async function refuseTakenName(db: Executor, fields: RoleFields, exceptRoleId: string | undefined): Promise<void> {
  const [taken] = await db
    .select({ name: roles.name, slug: roles.slug })
    .from(roles)
    .where(
      and(
        or(sql`lower(${roles.name}) = lower(${fields.name})`, eq(roles.slug, fields.slug)),
        exceptRoleId === undefined ? undefined : ne(roles.id, exceptRoleId),
      ),
    );
  if (taken === undefined) return;
  const field = taken.slug === fields.slug ? 'slug' : 'name';
  throw new UserError('role_invalid', `Another role already has this ${field} (${taken.name}, \`${taken.slug}\`).`, field);
}
