import type { ViewStateValue } from '@slack/bolt';
import type { KnownBlock, View } from '@slack/types';
import { formatDuration } from '../domain/duration.js';
import { MAX_JUSTIFICATION_LENGTH, MAX_TICKET_NUMBER_LENGTH, MAX_TICKET_SYSTEM_LENGTH } from '../domain/role-settings.js';
import type { Role } from '../services/roles.js';
import { context, OPTION_TEXT_LIMIT, STATIC_SELECT_OPTION_LIMIT, truncate } from './blocks.js';

/** `callback_id` of the activation modal. */
export const ACTIVATION_CALLBACK_ID = 'activate_role';

/** `block_id`s of the modal's inputs; field errors are keyed by these. */
export const ACTIVATION_BLOCKS = {
  role: 'role',
  duration: 'duration',
  justification: 'justification',
  ticketSystem: 'ticket_system',
  ticketNumber: 'ticket_number',
} as const;

const VALUE_ACTION_ID = 'value';

/** Characters in an input block's hint. https://docs.slack.dev/reference/block-kit/blocks/input-block */
export const INPUT_HINT_LIMIT = 2_000;

const JUSTIFICATION_PURPOSE = 'Why you need the role now. Shown to the security team.';

/** Initial modal values: whatever the user already typed in the command. */
export interface ActivationPrefill {
  roleSlug?: string;
  durationText?: string;
  justification?: string;
}

/** Values of a submitted modal, as typed. */
export interface ActivationSubmission {
  roleSlug: string | undefined;
  durationText: string | undefined;
  justification: string | undefined;
  ticketSystem: string | undefined;
  ticketNumber: string | undefined;
}

/** Builds the activation modal listing only `eligibleRoles`. */
export function buildActivationModal(eligibleRoles: readonly Role[], prefill: ActivationPrefill): View {
  // Only the roles in the select can be submitted, so they alone decide which fields are required.
  const offered = eligibleRoles.slice(0, STATIC_SELECT_OPTION_LIMIT);
  const options = offered.map((role) => ({
    text: { type: 'plain_text' as const, text: truncate(role.name, OPTION_TEXT_LIMIT) },
    value: role.slug,
  }));
  const preselected = options.find((option) => option.value === prefill.roleSlug);
  const chosen = eligibleRoles.find((role) => role.slug === prefill.roleSlug);
  const durationHint =
    chosen === undefined
      ? 'Such as 30m, 2h or 1h30m, up to the role’s maximum.'
      : `Such as 30m, 2h or 1h30m; ${chosen.name} allows up to ${formatDuration(chosen.settings.maxActivationMinutes)}.`;

  const justificationRoles = offered.filter((role) => role.settings.requireJustification).map((role) => role.name);
  // Required for Slack when every offered role needs one, so Slack marks the field and refuses
  // an empty one itself. Otherwise our own check names the role that needs it.
  const justificationRequired = offered.length > 0 && justificationRoles.length === offered.length;
  const justificationHint =
    justificationRequired || justificationRoles.length === 0
      ? JUSTIFICATION_PURPOSE
      : `${requiredForHint(justificationRoles, JUSTIFICATION_PURPOSE.length + 1)} ${JUSTIFICATION_PURPOSE}`;

  const blocks: KnownBlock[] = [
    {
      type: 'input',
      block_id: ACTIVATION_BLOCKS.role,
      label: { type: 'plain_text', text: 'Role' },
      element: {
        type: 'static_select',
        action_id: VALUE_ACTION_ID,
        placeholder: { type: 'plain_text', text: 'Choose a role you are eligible for' },
        options,
        ...(preselected === undefined ? {} : { initial_option: preselected }),
      },
    },
    {
      type: 'input',
      block_id: ACTIVATION_BLOCKS.duration,
      label: { type: 'plain_text', text: 'Duration' },
      hint: { type: 'plain_text', text: durationHint },
      element: {
        type: 'plain_text_input',
        action_id: VALUE_ACTION_ID,
        placeholder: { type: 'plain_text', text: '2h' },
        ...(prefill.durationText === undefined ? {} : { initial_value: prefill.durationText }),
      },
    },
    {
      type: 'input',
      block_id: ACTIVATION_BLOCKS.justification,
      optional: !justificationRequired,
      label: { type: 'plain_text', text: 'Justification' },
      hint: { type: 'plain_text', text: justificationHint },
      element: {
        type: 'plain_text_input',
        action_id: VALUE_ACTION_ID,
        multiline: true,
        max_length: MAX_JUSTIFICATION_LENGTH,
        ...(prefill.justification === undefined
          ? {}
          : { initial_value: truncate(prefill.justification, MAX_JUSTIFICATION_LENGTH) }),
      },
    },
  ];
  const ticketRoles = offered.filter((role) => role.settings.requireTicket).map((role) => role.name);
  if (ticketRoles.length > 0) {
    blocks.push(
      {
        type: 'input',
        block_id: ACTIVATION_BLOCKS.ticketSystem,
        optional: true,
        label: { type: 'plain_text', text: 'Ticket system' },
        hint: { type: 'plain_text', text: requiredForHint(ticketRoles, 0) },
        element: {
          type: 'plain_text_input',
          action_id: VALUE_ACTION_ID,
          max_length: MAX_TICKET_SYSTEM_LENGTH,
          placeholder: { type: 'plain_text', text: 'Jira' },
        },
      },
      {
        type: 'input',
        block_id: ACTIVATION_BLOCKS.ticketNumber,
        optional: true,
        label: { type: 'plain_text', text: 'Ticket number' },
        element: {
          type: 'plain_text_input',
          action_id: VALUE_ACTION_ID,
          max_length: MAX_TICKET_NUMBER_LENGTH,
          placeholder: { type: 'plain_text', text: 'OPS-1234' },
        },
      },
    );
  }
  if (eligibleRoles.length > STATIC_SELECT_OPTION_LIMIT) {
    blocks.push(
      context(
        `Showing the first ${STATIC_SELECT_OPTION_LIMIT} of your ${eligibleRoles.length} roles; name others with \`/pim activate <role>\`.`,
      ),
    );
  }
  return {
    type: 'modal',
    callback_id: ACTIVATION_CALLBACK_ID,
    title: { type: 'plain_text', text: 'Activate a role' },
    submit: { type: 'plain_text', text: 'Activate' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

/**
 * Builds the hint naming the roles that require a field, as `Required for A, B and C.`, within an
 * input hint's limit less `reserved` characters. Names that do not fit are counted (`and 3 other
 * roles`). When not even one fits, the hint is `Required for some of these roles.`
 */
export function requiredForHint(roleNames: readonly string[], reserved: number): string {
  const budget = INPUT_HINT_LIMIT - reserved;
  for (let shown = roleNames.length; shown > 0; shown -= 1) {
    const rest = roleNames.length - shown;
    const names = [...roleNames.slice(0, shown), ...(rest === 0 ? [] : [`${rest} other role${rest === 1 ? '' : 's'}`])];
    const text = `Required for ${listInWords(names)}.`;
    if (text.length <= budget) return text;
  }
  return truncate('Required for some of these roles.', budget);
}

function listInWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Reads the submitted values from `view.state.values`. */
export function readActivationSubmission(values: Record<string, Record<string, ViewStateValue>>): ActivationSubmission {
  const value = (blockId: string): ViewStateValue | undefined => values[blockId]?.[VALUE_ACTION_ID];
  return {
    roleSlug: value(ACTIVATION_BLOCKS.role)?.selected_option?.value ?? undefined,
    durationText: value(ACTIVATION_BLOCKS.duration)?.value ?? undefined,
    justification: value(ACTIVATION_BLOCKS.justification)?.value ?? undefined,
    ticketSystem: value(ACTIVATION_BLOCKS.ticketSystem)?.value ?? undefined,
    ticketNumber: value(ACTIVATION_BLOCKS.ticketNumber)?.value ?? undefined,
  };
}
