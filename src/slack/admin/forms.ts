import type { KnownBlock, View } from '@slack/types';
import type { PermanentAssignment } from '../../services/setup.js';
import type { Role } from '../../services/roles.js';
import { MAX_ROLE_DESCRIPTION_LENGTH, MAX_ROLE_NAME_LENGTH } from '../../services/role-admin.js';
import { MAX_SLUG_LENGTH } from '../../domain/roles.js';
import { context, escapeMrkdwn, mention, OPTION_TEXT_LIMIT, section, STATIC_SELECT_OPTION_LIMIT, truncate } from '../blocks.js';
import { ADMIN_VIEWS, FORM_BLOCKS, VALUE_ACTION, type FormState } from './ids.js';

/** Longest reason an administrator may give for an assignment change. */
export const MAX_REASON_LENGTH = 500;
/** Longest pasted list of `user,manager` lines. */
export const MAX_MANAGER_LINES_LENGTH = 3_000;

/** Builds the form that creates a role, or edits `role` when given. */
export function buildRoleForm(role: Role | undefined, parentViewId?: string): View {
  const state: FormState = { roleId: role?.id ?? '', ...(parentViewId === undefined ? {} : { parentViewId }) };
  return {
    type: 'modal',
    callback_id: ADMIN_VIEWS.roleForm,
    private_metadata: JSON.stringify(state),
    title: { type: 'plain_text', text: role === undefined ? 'New role' : 'Edit role' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      textInput(FORM_BLOCKS.name, 'Name', role?.name, MAX_ROLE_NAME_LENGTH, 'Shown to people, like "Production database administrator".'),
      textInput(FORM_BLOCKS.slug, 'Slug', role?.slug, MAX_SLUG_LENGTH, 'Typed in commands. Lowercase letters, digits and dashes; derived from the name when empty.', true),
      textInput(FORM_BLOCKS.description, 'Description', role?.description, MAX_ROLE_DESCRIPTION_LENGTH, 'What holding this role allows.', true, true),
    ],
  };
}

/** Builds the confirmation to delete a custom role. */
export function buildDeleteRoleForm(role: Role): View {
  const state: FormState = { roleId: role.id };
  return {
    type: 'modal',
    callback_id: ADMIN_VIEWS.deleteRole,
    private_metadata: JSON.stringify(state),
    title: { type: 'plain_text', text: 'Delete role' },
    submit: { type: 'plain_text', text: 'Delete' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [section(`Delete *${escapeMrkdwn(role.name)}* (\`${role.slug}\`)? Its history stays in the audit trail.`)],
  };
}

/**
 * Builds the form that adds an assignment of `role` or, for `current`, changes its kind and
 * end date. The end date is a whole day in the administrator's time zone.
 */
export function buildAssignmentForm(
  role: Role,
  current: { assignmentId: string; userId: string; kind: 'eligible' | 'active'; endDate: string | undefined } | undefined,
  parentViewId: string | undefined,
): View {
  const state: FormState = {
    roleId: role.id,
    ...(current === undefined ? {} : { assignmentId: current.assignmentId, userId: current.userId }),
    ...(parentViewId === undefined ? {} : { parentViewId }),
  };
  const kindOption = (kind: 'eligible' | 'active') => ({
    text: { type: 'plain_text' as const, text: kind === 'eligible' ? 'Eligible: may activate' : 'Active: holds it now' },
    value: kind,
  });
  const blocks: KnownBlock[] = [];
  if (current === undefined) {
    blocks.push({
      type: 'input',
      block_id: FORM_BLOCKS.user,
      label: { type: 'plain_text', text: 'Person' },
      element: { type: 'users_select', action_id: VALUE_ACTION },
    });
  } else {
    blocks.push(section(`${mention(current.userId)} in *${escapeMrkdwn(role.name)}*`));
  }
  blocks.push(
    {
      type: 'input',
      block_id: FORM_BLOCKS.kind,
      label: { type: 'plain_text', text: 'Kind' },
      element: {
        type: 'radio_buttons',
        action_id: VALUE_ACTION,
        options: [kindOption('eligible'), kindOption('active')],
        initial_option: kindOption(current?.kind ?? 'eligible'),
      },
    },
    {
      type: 'input',
      block_id: FORM_BLOCKS.endDate,
      optional: true,
      label: { type: 'plain_text', text: 'Ends after' },
      hint: { type: 'plain_text', text: "Leave empty for no end date, or the longest the role's settings allow." },
      element: {
        type: 'datepicker',
        action_id: VALUE_ACTION,
        ...(current?.endDate === undefined ? {} : { initial_date: current.endDate }),
      },
    },
    textInput(FORM_BLOCKS.reason, 'Reason', undefined, MAX_REASON_LENGTH, 'Recorded in the audit trail; required for active assignments of most roles.', true, true),
  );
  return {
    type: 'modal',
    callback_id: ADMIN_VIEWS.assignmentForm,
    private_metadata: JSON.stringify(state),
    title: { type: 'plain_text', text: current === undefined ? 'Add assignment' : 'Change assignment' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

/** Builds the confirmation to remove an assignment, with an optional reason. */
export function buildRemoveForm(role: Role, assignment: { assignmentId: string; userId: string }, parentViewId: string | undefined): View {
  const state: FormState = { roleId: role.id, assignmentId: assignment.assignmentId, userId: assignment.userId, ...(parentViewId === undefined ? {} : { parentViewId }) };
  return {
    type: 'modal',
    callback_id: ADMIN_VIEWS.removeAssignment,
    private_metadata: JSON.stringify(state),
    title: { type: 'plain_text', text: 'Remove assignment' },
    submit: { type: 'plain_text', text: 'Remove' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(`Remove ${mention(assignment.userId)} from *${escapeMrkdwn(role.name)}*? Any activation or request of it ends too.`),
      textInput(FORM_BLOCKS.reason, 'Reason', undefined, MAX_REASON_LENGTH, 'Shown to them and recorded in the audit trail.', true, true),
    ],
  };
}

/**
 * Builds the security wizard: the permanent active assignments to turn into eligible ones.
 * A multi-select holds at most STATIC_SELECT_OPTION_LIMIT options, so a longer list is cut
 * there and says so; running the wizard again shows the rest.
 */
export function buildSetupWizard(permanent: readonly PermanentAssignment[]): View {
  const listed = permanent.slice(0, STATIC_SELECT_OPTION_LIMIT);
  const blocks: KnownBlock[] = [
    section(
      permanent.length === 0
        ? ':white_check_mark: No role has permanent active holders. Everyone activates when needed.'
        : `*${permanent.length} permanent active assignment(s).* Standing access is what PIM removes: choose the ones to turn into eligible assignments, which their holders activate when needed.`,
    ),
  ];
  if (listed.length > 0) {
    blocks.push(
      {
        type: 'input',
        block_id: FORM_BLOCKS.assignments,
        label: { type: 'plain_text', text: 'Make eligible' },
        element: {
          type: 'multi_static_select',
          action_id: VALUE_ACTION,
          placeholder: { type: 'plain_text', text: 'Choose assignments' },
          options: listed.map((entry) => ({
            text: { type: 'plain_text' as const, text: truncate(`${entry.roleName}: ${entry.userId}`, OPTION_TEXT_LIMIT) },
            value: entry.assignmentId,
          })),
        },
      },
      textInput(FORM_BLOCKS.reason, 'Reason', 'Security wizard: standing access made just-in-time', MAX_REASON_LENGTH, 'Recorded in the audit trail and shown to each holder.'),
      section(listed.map((entry) => `• *${escapeMrkdwn(entry.roleName)}*: ${mention(entry.userId)}`).join('\n')),
    );
  }
  if (permanent.length > listed.length) {
    blocks.push(context(`${permanent.length - listed.length} more are not listed; run the wizard again after this step.`));
  }
  return {
    type: 'modal',
    callback_id: ADMIN_VIEWS.setupWizard,
    title: { type: 'plain_text', text: 'Security wizard' },
    close: { type: 'plain_text', text: 'Close' },
    ...(listed.length === 0 ? {} : { submit: { type: 'plain_text' as const, text: 'Make eligible' } }),
    blocks,
  };
}

/** Builds the form where an administrator pastes `user,manager` lines. */
export function buildManagersForm(): View {
  return {
    type: 'modal',
    callback_id: ADMIN_VIEWS.importManagers,
    title: { type: 'plain_text', text: 'Import managers' },
    submit: { type: 'plain_text', text: 'Import' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      textInput(
        FORM_BLOCKS.managers,
        'One "user,manager" per line',
        undefined,
        MAX_MANAGER_LINES_LENGTH,
        'Each side is a @mention, a user ID (U0123ABCD) or an e-mail address, like ada@example.com,grace@example.com.',
        false,
        true,
      ),
    ],
  };
}

/** Builds the import result: how many were recorded, and each line that failed with why. */
export function buildManagersReport(recorded: number, failures: readonly { line: number; text: string; problem: string }[]): View {
  const lines = failures.map((failure) => `• line ${failure.line} \`${escapeMrkdwn(truncate(failure.text, 60))}\`: ${failure.problem}`);
  const blocks: KnownBlock[] = [section(`Recorded ${recorded} manager(s).${failures.length === 0 ? ' Every line was read.' : ''}`)];
  // Twenty lines a section keeps each one under the 3,000-character section limit.
  for (let start = 0; start < lines.length && blocks.length < 40; start += 20) {
    blocks.push(section(`${start === 0 ? `*${failures.length} line(s) failed:*\n` : ''}${lines.slice(start, start + 20).join('\n')}`));
  }
  return {
    type: 'modal',
    callback_id: `${ADMIN_VIEWS.importManagers}_report`,
    title: { type: 'plain_text', text: 'Import managers' },
    close: { type: 'plain_text', text: 'Done' },
    blocks,
  };
}

function textInput(
  blockId: string,
  label: string,
  initial: string | undefined,
  maxLength: number,
  hint: string,
  optional = false,
  multiline = false,
): KnownBlock {
  return {
    type: 'input',
    block_id: blockId,
    optional,
    label: { type: 'plain_text', text: label },
    hint: { type: 'plain_text', text: hint },
    element: {
      type: 'plain_text_input',
      action_id: VALUE_ACTION,
      max_length: maxLength,
      multiline,
      ...(initial === undefined || initial === '' ? {} : { initial_value: initial }),
    },
  };
}
