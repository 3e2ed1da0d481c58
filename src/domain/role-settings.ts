import { z } from 'zod';
import { isBlankReason } from './reason.js';

/** Bounds on a role's maximum activation duration. */
export const MIN_MAX_ACTIVATION_MINUTES = 30;
export const MAX_MAX_ACTIVATION_MINUTES = 24 * 60;
export const DEFAULT_MAX_ACTIVATION_MINUTES = 8 * 60;

/** Shortest activation anyone may request. */
export const MIN_ACTIVATION_MINUTES = 1;

/** Maximum justification length; Slack's plain-text input allows 3,000 characters. */
export const MAX_JUSTIFICATION_LENGTH = 500;
/** Maximum lengths of a ticket system name and ticket number. */
export const MAX_TICKET_SYSTEM_LENGTH = 40;
export const MAX_TICKET_NUMBER_LENGTH = 60;

/** Bounds on how long a request may wait for a decision before it times out. */
export const MIN_PENDING_TIMEOUT_MINUTES = 15;
export const MAX_PENDING_TIMEOUT_MINUTES = 7 * 24 * 60;
export const DEFAULT_PENDING_TIMEOUT_MINUTES = 24 * 60;

/** Bounds on the end of time-bound assignments, in days from their start. */
export const MIN_ASSIGNMENT_DAYS = 1;
export const MAX_ASSIGNMENT_DAYS = 5 * 365;
export const DEFAULT_ELIGIBLE_ASSIGNMENT_DAYS = 365;
export const DEFAULT_ACTIVE_ASSIGNMENT_DAYS = 180;

/** Most approvers (users plus user groups) a role may name. */
export const MAX_APPROVERS = 25;

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;
const SLACK_USER_GROUP_ID = /^S[A-Z0-9]{2,}$/;

/**
 * Per-role rules for activations and assignments, stored as JSON on the role. Missing keys
 * take the defaults, so roles saved before a setting existed read as if it had its default.
 */
export const roleSettingsSchema = z.object({
  maxActivationMinutes: z
    .number()
    .int()
    .min(MIN_MAX_ACTIVATION_MINUTES)
    .max(MAX_MAX_ACTIVATION_MINUTES)
    .default(DEFAULT_MAX_ACTIVATION_MINUTES),
  requireJustification: z.boolean().default(true),
  requireTicket: z.boolean().default(false),
  requireApproval: z.boolean().default(false),
  approvers: z
    .object({
      users: z.array(z.string().regex(SLACK_USER_ID)).default([]),
      groups: z.array(z.string().regex(SLACK_USER_GROUP_ID)).default([]),
    })
    .default({ users: [], groups: [] })
    .refine((approvers) => approvers.users.length + approvers.groups.length <= MAX_APPROVERS, {
      message: `at most ${MAX_APPROVERS} approvers and user groups`,
    }),
  pendingTimeoutMinutes: z
    .number()
    .int()
    .min(MIN_PENDING_TIMEOUT_MINUTES)
    .max(MAX_PENDING_TIMEOUT_MINUTES)
    .default(DEFAULT_PENDING_TIMEOUT_MINUTES),
  // Eligibility grants nothing until activated, so permanent eligibility is allowed by default;
  // standing access is what PIM exists to remove, so active assignments end by default.
  allowPermanentEligible: z.boolean().default(true),
  eligibleAssignmentDays: z
    .number()
    .int()
    .min(MIN_ASSIGNMENT_DAYS)
    .max(MAX_ASSIGNMENT_DAYS)
    .default(DEFAULT_ELIGIBLE_ASSIGNMENT_DAYS),
  allowPermanentActive: z.boolean().default(false),
  activeAssignmentDays: z
    .number()
    .int()
    .min(MIN_ASSIGNMENT_DAYS)
    .max(MAX_ASSIGNMENT_DAYS)
    .default(DEFAULT_ACTIVE_ASSIGNMENT_DAYS),
  requireJustificationOnActiveAssignment: z.boolean().default(true),
  postActivationsToSecurityChannel: z.boolean().default(true),
  notifyAdminsOnAssignment: z.boolean().default(false),
  notifyAssignee: z.boolean().default(true),
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

/** Outcome of applying a role's assignment rules to a requested end. */
export type AssignmentEndCheck =
  | { ok: true; endsAt: Date | null }
  | { ok: false; code: 'assignment_too_long' | 'justification_missing'; message: string };

/**
 * Applies the role's assignment rules: a permanent assignment where the role forbids one gets
 * the longest allowed end instead, an end beyond that is rejected, and an active assignment
 * needs a reason that is not blank (see isBlankReason) when the role requires one.
 */
export function checkAssignmentRules(
  roleName: string,
  settings: RoleSettings,
  request: { kind: 'eligible' | 'active'; endsAt: Date | null; reason: string | null; now: Date },
): AssignmentEndCheck {
  if (request.kind === 'active' && settings.requireJustificationOnActiveAssignment && isBlankReason(request.reason)) {
    return {
      ok: false,
      code: 'justification_missing',
      message: `${roleName} requires a reason for active assignments: add it after the role, as in \`/pim assign @user role active <reason>\`.`,
    };
  }
  const allowPermanent = request.kind === 'eligible' ? settings.allowPermanentEligible : settings.allowPermanentActive;
  const maxDays = request.kind === 'eligible' ? settings.eligibleAssignmentDays : settings.activeAssignmentDays;
  const latest = new Date(request.now.getTime() + maxDays * 24 * 60 * 60_000);
  if (request.endsAt === null) {
    return { ok: true, endsAt: allowPermanent ? null : latest };
  }
  if (!allowPermanent && request.endsAt.getTime() > latest.getTime()) {
    return {
      ok: false,
      code: 'assignment_too_long',
      message: `${roleName} allows ${request.kind} assignments of at most ${maxDays} days; choose an earlier end date.`,
    };
  }
  return { ok: true, endsAt: request.endsAt };
}
