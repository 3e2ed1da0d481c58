import { eq } from 'drizzle-orm';
import { roles } from '../../db/schema.js';
import { roleSettingsSchema, type RoleSettings } from '../domain/role-settings.js';
import { UserError } from '../errors.js';
import { requireActivePra } from './access.js';
import { cancelRequestsWithoutApprovers } from './approvals.js';
import { appendAudit } from './audit.js';
import type { ServiceContext } from './context.js';
import { lockRoleRow } from './role-admin.js';
import { listRoles, type Role } from './roles.js';

/**
 * Replaces a role's settings. Active Privileged Role Administrators only; the audit event
 * records the values before and after. Requests already filed keep the rules they were made
 * under, with two exceptions. An approver removed from the role can no longer decide them, and a
 * request left with no approver who may decide it is cancelled.
 */
export async function updateRoleSettings(
  context: ServiceContext,
  request: { actorId: string; roleId: string; settings: RoleSettings },
): Promise<{ role: Role; changed: string[] }> {
  const parsed = roleSettingsSchema.safeParse(request.settings);
  if (!parsed.success) {
    throw new UserError('settings_invalid', `The settings are invalid: ${parsed.error.issues[0]?.message ?? 'unknown problem'}.`);
  }
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    await requireActivePra(tx, request.actorId, now, 'change role settings');
    // Locked first, so that of two saves at once the second compares with what the first wrote
    // and a repeated delivery records nothing.
    await lockRoleRow(tx, request.roleId);
    const role = (await listRoles(tx)).find((candidate) => candidate.id === request.roleId);
    if (role === undefined) throw new UserError('role_not_found', 'That role no longer exists.');

    const changed = changedKeys(role.settings, parsed.data);
    if (changed.length === 0) return { role, changed };
    await tx.update(roles).set({ settings: parsed.data, updatedAt: now }).where(eq(roles.id, role.id));
    const updated = { ...role, settings: parsed.data };
    await appendAudit(tx, {
      occurredAt: now,
      actorId: request.actorId,
      action: 'role.settings_updated',
      targetType: 'role',
      targetId: role.id,
      roleId: role.id,
      before: pick(role.settings, changed),
      after: pick(parsed.data, changed),
    });
    // After the settings event, so the trail shows the change before the cancellations it caused.
    if (changed.includes('approvers')) await cancelRequestsWithoutApprovers(tx, updated, request.actorId, now);
    return { role: updated, changed };
  });
}

function changedKeys(before: RoleSettings, after: RoleSettings): string[] {
  return (Object.keys(after) as (keyof RoleSettings)[]).filter(
    (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  );
}

function pick(settings: RoleSettings, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, settings[key as keyof RoleSettings]]));
}
