import type { ViewStateValue } from '@slack/bolt';
import type { KnownBlock, PlainTextOption, View } from '@slack/types';
import { formatDuration, parseDuration } from '../domain/duration.js';
import {
  MAX_APPROVERS,
  MAX_ASSIGNMENT_DAYS,
  MAX_MAX_ACTIVATION_MINUTES,
  MAX_PENDING_TIMEOUT_MINUTES,
  MIN_ASSIGNMENT_DAYS,
  MIN_MAX_ACTIVATION_MINUTES,
  MIN_PENDING_TIMEOUT_MINUTES,
  type RoleSettings,
} from '../domain/role-settings.js';
import type { Role } from '../services/roles.js';
import { context, header, truncate } from './blocks.js';

/** `callback_id` of the role settings modal; `private_metadata` holds the role id. */
export const SETTINGS_CALLBACK_ID = 'role_settings';

/** `block_id`s of the settings modal, which field errors are keyed by. */
export const SETTINGS_BLOCKS = {
  maxDuration: 'max_duration',
  activationRules: 'activation_rules',
  approverUsers: 'approver_users',
  approverGroups: 'approver_groups',
  pendingTimeout: 'pending_timeout',
  assignmentRules: 'assignment_rules',
  eligibleDays: 'eligible_days',
  activeDays: 'active_days',
  notifications: 'notifications',
} as const;

type SettingsBlockId = (typeof SETTINGS_BLOCKS)[keyof typeof SETTINGS_BLOCKS];
const VALUE_ACTION_ID = 'value';

// Checkbox options map one-to-one onto boolean settings.
const ACTIVATION_OPTIONS = [
  ['requireJustification', 'Require a justification'],
  ['requireTicket', 'Require a ticket (system and number)'],
  ['requireApproval', 'Require approval'],
] as const;
const ASSIGNMENT_OPTIONS = [
  ['allowPermanentEligible', 'Allow permanent eligible assignments'],
  ['allowPermanentActive', 'Allow permanent active assignments'],
  ['requireJustificationOnActiveAssignment', 'Require a reason for active assignments'],
] as const;
const NOTIFICATION_OPTIONS = [
  ['postActivationsToSecurityChannel', 'Post activations to the security channel'],
  ['notifyAdminsOnAssignment', 'Notify administrators of new assignments'],
  ['notifyAssignee', 'Notify the assignee of new assignments'],
] as const;
type BooleanSetting = (typeof ACTIVATION_OPTIONS | typeof ASSIGNMENT_OPTIONS | typeof NOTIFICATION_OPTIONS)[number][0];

// A user group as Slack writes it in mrkdwn (`<!subteam^S123|@oncall>`), or a bare id.
const USER_GROUP_TOKEN = /^<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>$|^(S[A-Z0-9]{2,})$/;

/** Builds the settings modal with the role's current values filled in. */
export function buildSettingsModal(role: Role): View {
  const settings = role.settings;
  const blocks: KnownBlock[] = [
    header('Activation'),
    textInput(SETTINGS_BLOCKS.maxDuration, 'Maximum activation duration', shortDuration(settings.maxActivationMinutes),
      `From ${formatDuration(MIN_MAX_ACTIVATION_MINUTES)} to ${formatDuration(MAX_MAX_ACTIVATION_MINUTES)}, such as 8h or 90m.`),
    checkboxes(SETTINGS_BLOCKS.activationRules, 'Requirements', ACTIVATION_OPTIONS, settings),
    {
      type: 'input',
      block_id: SETTINGS_BLOCKS.approverUsers,
      optional: true,
      label: { type: 'plain_text', text: 'Approvers' },
      hint: { type: 'plain_text', text: 'With no approvers or groups, active Privileged Role Administrators approve.' },
      element: {
        type: 'multi_users_select',
        action_id: VALUE_ACTION_ID,
        placeholder: { type: 'plain_text', text: 'Choose people' },
        ...(settings.approvers.users.length === 0 ? {} : { initial_users: settings.approvers.users }),
      },
    },
    textInput(SETTINGS_BLOCKS.approverGroups, 'Approver user groups', settings.approvers.groups.join(', '),
      'User group IDs (S…) separated by commas; their members at request time approve.', true),
    textInput(SETTINGS_BLOCKS.pendingTimeout, 'Request timeout', shortDuration(settings.pendingTimeoutMinutes),
      `An undecided request times out after this long: ${formatDuration(MIN_PENDING_TIMEOUT_MINUTES)} to ${formatDuration(MAX_PENDING_TIMEOUT_MINUTES)}.`),
    { type: 'divider' },
    header('Assignments'),
    checkboxes(SETTINGS_BLOCKS.assignmentRules, 'Rules', ASSIGNMENT_OPTIONS, settings),
    numberInput(SETTINGS_BLOCKS.eligibleDays, 'Eligible assignments end after (days)', settings.eligibleAssignmentDays,
      'Used when permanent eligible assignments are not allowed.'),
    numberInput(SETTINGS_BLOCKS.activeDays, 'Active assignments end after (days)', settings.activeAssignmentDays,
      'Used when permanent active assignments are not allowed.'),
    { type: 'divider' },
    header('Notifications'),
    checkboxes(SETTINGS_BLOCKS.notifications, 'Send', NOTIFICATION_OPTIONS, settings),
    context('Changes apply to requests and assignments made from now on, and are recorded in the audit trail.'),
  ];
  return {
    type: 'modal',
    callback_id: SETTINGS_CALLBACK_ID,
    private_metadata: role.id,
    title: { type: 'plain_text', text: 'Role settings' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [context(`*${truncate(role.name, 200)}* (\`${role.slug}\`)`), ...blocks],
  };
}

/** Settings read from a submitted modal, or the errors to show on its fields. */
export type SettingsSubmission =
  | { ok: true; settings: RoleSettings }
  | { ok: false; errors: Partial<Record<SettingsBlockId, string>> };

/** Reads and validates every field of a submitted settings modal against the role's current settings. */
export function readSettingsSubmission(
  current: RoleSettings,
  values: Record<string, Record<string, ViewStateValue>>,
): SettingsSubmission {
  const value = (blockId: SettingsBlockId) => values[blockId]?.[VALUE_ACTION_ID];
  const errors: Partial<Record<SettingsBlockId, string>> = {};

  const maxActivationMinutes = readDuration(value(SETTINGS_BLOCKS.maxDuration)?.value, MIN_MAX_ACTIVATION_MINUTES,
    MAX_MAX_ACTIVATION_MINUTES, (message) => (errors[SETTINGS_BLOCKS.maxDuration] = message));
  const pendingTimeoutMinutes = readDuration(value(SETTINGS_BLOCKS.pendingTimeout)?.value, MIN_PENDING_TIMEOUT_MINUTES,
    MAX_PENDING_TIMEOUT_MINUTES, (message) => (errors[SETTINGS_BLOCKS.pendingTimeout] = message));
  const eligibleDays = readDays(value(SETTINGS_BLOCKS.eligibleDays)?.value, (message) => (errors[SETTINGS_BLOCKS.eligibleDays] = message));
  const activeDays = readDays(value(SETTINGS_BLOCKS.activeDays)?.value, (message) => (errors[SETTINGS_BLOCKS.activeDays] = message));

  const users = value(SETTINGS_BLOCKS.approverUsers)?.selected_users ?? [];
  const groups: string[] = [];
  for (const token of (value(SETTINGS_BLOCKS.approverGroups)?.value ?? '').split(/[\s,]+/).filter((part) => part !== '')) {
    const match = USER_GROUP_TOKEN.exec(token);
    const groupId = match?.[1] ?? match?.[2];
    if (groupId === undefined) {
      errors[SETTINGS_BLOCKS.approverGroups] = `"${token}" is not a user group ID; IDs look like S0123ABCD.`;
      break;
    }
    if (!groups.includes(groupId)) groups.push(groupId);
  }
  if (users.length + groups.length > MAX_APPROVERS) {
    errors[SETTINGS_BLOCKS.approverUsers] = `Name at most ${MAX_APPROVERS} approvers and user groups together.`;
  }

  const checked = new Set<string>([
    ...selected(value(SETTINGS_BLOCKS.activationRules)),
    ...selected(value(SETTINGS_BLOCKS.assignmentRules)),
    ...selected(value(SETTINGS_BLOCKS.notifications)),
  ]);
  const flag = (key: BooleanSetting) => checked.has(key);

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    settings: {
      ...current,
      maxActivationMinutes: maxActivationMinutes ?? current.maxActivationMinutes,
      requireJustification: flag('requireJustification'),
      requireTicket: flag('requireTicket'),
      requireApproval: flag('requireApproval'),
      approvers: { users, groups },
      pendingTimeoutMinutes: pendingTimeoutMinutes ?? current.pendingTimeoutMinutes,
      allowPermanentEligible: flag('allowPermanentEligible'),
      eligibleAssignmentDays: eligibleDays ?? current.eligibleAssignmentDays,
      allowPermanentActive: flag('allowPermanentActive'),
      activeAssignmentDays: activeDays ?? current.activeAssignmentDays,
      requireJustificationOnActiveAssignment: flag('requireJustificationOnActiveAssignment'),
      postActivationsToSecurityChannel: flag('postActivationsToSecurityChannel'),
      notifyAdminsOnAssignment: flag('notifyAdminsOnAssignment'),
      notifyAssignee: flag('notifyAssignee'),
    },
  };
}

function textInput(blockId: SettingsBlockId, label: string, initial: string, hint: string, optional = false): KnownBlock {
  return {
    type: 'input',
    block_id: blockId,
    optional,
    label: { type: 'plain_text', text: label },
    hint: { type: 'plain_text', text: hint },
    element: {
      type: 'plain_text_input',
      action_id: VALUE_ACTION_ID,
      ...(initial === '' ? {} : { initial_value: initial }),
    },
  };
}

function numberInput(blockId: SettingsBlockId, label: string, initial: number, hint: string): KnownBlock {
  return {
    type: 'input',
    block_id: blockId,
    label: { type: 'plain_text', text: label },
    hint: { type: 'plain_text', text: hint },
    element: {
      type: 'number_input',
      action_id: VALUE_ACTION_ID,
      is_decimal_allowed: false,
      min_value: String(MIN_ASSIGNMENT_DAYS),
      max_value: String(MAX_ASSIGNMENT_DAYS),
      initial_value: String(initial),
    },
  };
}

function checkboxes(
  blockId: SettingsBlockId,
  label: string,
  options: readonly (readonly [BooleanSetting, string])[],
  settings: RoleSettings,
): KnownBlock {
  const all: PlainTextOption[] = options.map(([key, text]) => ({ text: { type: 'plain_text', text }, value: key }));
  const initial = all.filter((option) => settings[option.value as BooleanSetting]);
  return {
    type: 'input',
    block_id: blockId,
    optional: true,
    label: { type: 'plain_text', text: label },
    element: {
      type: 'checkboxes',
      action_id: VALUE_ACTION_ID,
      options: all,
      ...(initial.length === 0 ? {} : { initial_options: initial }),
    },
  };
}

function selected(state: ViewStateValue | undefined): string[] {
  return (state?.selected_options ?? []).flatMap((option) => (option.value === undefined ? [] : [option.value]));
}

function readDuration(text: string | null | undefined, min: number, max: number, fail: (message: string) => void) {
  const parsed = parseDuration(text ?? '');
  if (!parsed.ok) {
    fail(parsed.reason);
    return undefined;
  }
  if (parsed.minutes < min || parsed.minutes > max) {
    fail(`Choose between ${formatDuration(min)} and ${formatDuration(max)}; ${formatDuration(parsed.minutes)} is outside.`);
    return undefined;
  }
  return parsed.minutes;
}

function readDays(text: string | null | undefined, fail: (message: string) => void) {
  const days = Number(text);
  if (!Number.isInteger(days) || days < MIN_ASSIGNMENT_DAYS || days > MAX_ASSIGNMENT_DAYS) {
    fail(`Enter a whole number of days from ${MIN_ASSIGNMENT_DAYS} to ${MAX_ASSIGNMENT_DAYS}.`);
    return undefined;
  }
  return days;
}

function shortDuration(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest}m`;
  return rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
}
