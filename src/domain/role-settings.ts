import { z } from 'zod';

/** Bounds on a role's maximum activation duration. */
export const MIN_MAX_ACTIVATION_MINUTES = 30;
export const MAX_MAX_ACTIVATION_MINUTES = 24 * 60;
export const DEFAULT_MAX_ACTIVATION_MINUTES = 8 * 60;

/** Shortest activation anyone may ask for. */
export const MIN_ACTIVATION_MINUTES = 1;

/** Maximum justification length; Slack's plain-text input allows 3,000 characters. */
export const MAX_JUSTIFICATION_LENGTH = 500;

/** Per-role rules for activations. Stored as JSON on the role; missing keys take the defaults. */
export const roleSettingsSchema = z.object({
  maxActivationMinutes: z
    .number()
    .int()
    .min(MIN_MAX_ACTIVATION_MINUTES)
    .max(MAX_MAX_ACTIVATION_MINUTES)
    .default(DEFAULT_MAX_ACTIVATION_MINUTES),
  requireJustification: z.boolean().default(true),
  postActivationsToSecurityChannel: z.boolean().default(true),
});

export type RoleSettings = z.infer<typeof roleSettingsSchema>;

/** Settings every role starts with. */
export const DEFAULT_ROLE_SETTINGS: RoleSettings = roleSettingsSchema.parse({});

/**
 * Reads stored settings, filling defaults for missing keys. A stored value that breaks the
 * schema throws instead of falling back, so a damaged row never silently loosens a rule.
 */
export function readRoleSettings(stored: unknown): RoleSettings {
  return roleSettingsSchema.parse(stored ?? {});
}
