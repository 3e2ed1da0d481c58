import { describe, expect, it } from 'vitest';
import { isBlankReason } from '../../src/domain/reason.js';
import { checkAssignmentRules, DEFAULT_ROLE_SETTINGS } from '../../src/domain/role-settings.js';

describe('isBlankReason', () => {
  it.each([null, undefined, '', '   ', '\t\n', '""', '"   "', '\u201C \u201D', '\u201C\u201D', '"" ""', ' "\u201D" '])(
    'treats %j as blank',
    (text) => {
      expect(isBlankReason(text)).toBe(true);
    },
  );

  it.each(['x', '"x"', '""x', "''", "'", '\u201Cok\u201D', '-', '"" .'])('treats %j as a reason', (text) => {
    expect(isBlankReason(text)).toBe(false);
  });
});

describe('checkAssignmentRules reason rule', () => {
  const now = new Date('2026-03-01T00:00:00Z');
  const assign = (kind: 'eligible' | 'active', reason: string | null, settings = DEFAULT_ROLE_SETTINGS) =>
    checkAssignmentRules('Billing Administrator', settings, { kind, endsAt: null, reason, now });

  it.each([null, '', '   ', '""', '"   "', '\u201C \u201D', '"" ""'])('rejects active with reason %j', (reason) => {
    expect(assign('active', reason)).toEqual({
      ok: false,
      code: 'justification_missing',
      message: expect.stringContaining('Billing Administrator requires a reason for active assignments') as unknown,
    });
  });

  it('accepts active with quoted reason', () => {
    expect(assign('active', '"month-end close"').ok).toBe(true);
  });

  it('accepts blank reason when waived', () => {
    const relaxed = { ...DEFAULT_ROLE_SETTINGS, requireJustificationOnActiveAssignment: false };
    expect(assign('active', '""', relaxed).ok).toBe(true);
  });

  it('accepts eligible with blank reason', () => {
    expect(assign('eligible', '""').ok).toBe(true);
  });
});
