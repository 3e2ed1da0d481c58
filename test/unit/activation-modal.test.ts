import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLE_SETTINGS, type RoleSettings } from '../../src/domain/role-settings.js';
import type { Role } from '../../src/services/roles.js';
import { buildActivationModal, INPUT_HINT_LIMIT } from '../../src/slack/activation-modal.js';
import { STATIC_SELECT_OPTION_LIMIT } from '../../src/slack/blocks.js';

function role(index: number, settings: Partial<RoleSettings> = {}, name = `Role ${index}`): Role {
  return {
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    slug: `role-${index}`,
    name,
    description: '',
    builtin: false,
    settings: { ...DEFAULT_ROLE_SETTINGS, ...settings },
  };
}

interface InputBlock {
  block_id?: string;
  optional?: boolean;
  hint?: { type: string; text: string };
}

function inputBlock(roles: readonly Role[], blockId: string, prefill = {}): InputBlock {
  const blocks = buildActivationModal(roles, prefill).blocks as InputBlock[];
  const block = blocks.find((candidate) => candidate.block_id === blockId);
  if (block === undefined) throw new Error(`no block ${blockId}`);
  return block;
}

describe('activation modal justification', () => {
  it('required when every role needs one', () => {
    expect(DEFAULT_ROLE_SETTINGS.requireJustification).toBe(true);
    const roles = [role(1), role(2)];
    expect(inputBlock(roles, 'justification').optional).toBe(false);
    // A pre-selected role changes nothing: the person can still pick another one.
    expect(inputBlock(roles, 'justification', { roleSlug: 'role-2', durationText: '1h' }).optional).toBe(false);
    expect(inputBlock(roles, 'justification').hint?.text).not.toContain('Required for');
  });

  it('optional hint names the requiring roles', () => {
    const roles = [role(1), role(2, { requireJustification: false }), role(3)];
    const block = inputBlock(roles, 'justification', { roleSlug: 'role-1' });
    expect(block.optional).toBe(true);
    expect(block.hint?.type).toBe('plain_text');
    expect(block.hint?.text).toMatch(/^Required for Role 1 and Role 3\. /);
    expect(block.hint?.text).not.toContain('Role 2');
  });

  it('optional with no role requiring one', () => {
    const block = inputBlock([role(1, { requireJustification: false })], 'justification');
    expect(block.optional).toBe(true);
    expect(block.hint?.text).not.toContain('Required');
  });

  it('ignores roles past the select limit', () => {
    const offered = Array.from({ length: STATIC_SELECT_OPTION_LIMIT }, (_, index) => role(index));
    const roles = [...offered, role(STATIC_SELECT_OPTION_LIMIT, { requireJustification: false })];
    expect(inputBlock(roles, 'justification').optional).toBe(false);
  });

  it('hint within limit counts other roles', () => {
    const long = (index: number) => `${'Very long role name '.repeat(4)}${index}`.slice(0, 80);
    const roles = [
      role(0, { requireJustification: false }),
      ...Array.from({ length: 99 }, (_, index) => role(index + 1, {}, long(index + 1))),
    ];
    const hint = inputBlock(roles, 'justification').hint?.text ?? '';
    expect(hint.length).toBeLessThanOrEqual(INPUT_HINT_LIMIT);
    expect(hint).toMatch(/^Required for .+ and \d+ other roles\. Why you need the role now/);
    expect(hint).toContain(long(1));
  });

  it('ticket hint names every role', () => {
    const roles = [role(1, { requireTicket: true }, 'A'.repeat(80)), role(2, { requireTicket: true }, 'B'.repeat(80))];
    const hint = inputBlock(roles, 'ticket_system').hint?.text ?? '';
    expect(hint).toBe(`Required for ${'A'.repeat(80)} and ${'B'.repeat(80)}.`);
  });
});
