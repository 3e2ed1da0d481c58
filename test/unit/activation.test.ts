import { describe, expect, it } from 'vitest';
import { activationWindow, checkActivationRequest, endsWithAssignment } from '../../src/domain/activation.js';
import { DEFAULT_ROLE_SETTINGS, readRoleSettings, type RoleSettings } from '../../src/domain/role-settings.js';

const ROLE = 'Billing Administrator';

describe('checkActivationRequest', () => {
  it('accepts a duration within the maximum with a justification', () => {
    const check = checkActivationRequest(ROLE, DEFAULT_ROLE_SETTINGS, { durationMinutes: 90, justification: '  INC-1  ' });
    expect(check).toEqual({ ok: true, durationMinutes: 90, justification: 'INC-1', ticketSystem: null, ticketNumber: null });
  });

  it.each([
    [undefined, 'duration_invalid'],
    [0, 'duration_invalid'],
    [1.5, 'duration_invalid'],
    [481, 'duration_too_long'],
  ] as const)('rejects duration %j with %s', (durationMinutes, code) => {
    const check = checkActivationRequest(ROLE, DEFAULT_ROLE_SETTINGS, { durationMinutes, justification: 'x' });
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems.map((problem) => problem.code)).toEqual([code]);
    expect(check.problems[0]?.field).toBe('duration');
  });

  it('accepts exactly the maximum and exactly one minute', () => {
    for (const durationMinutes of [1, 480]) {
      expect(checkActivationRequest(ROLE, DEFAULT_ROLE_SETTINGS, { durationMinutes, justification: 'x' }).ok).toBe(true);
    }
  });

  it('names the maximum in the over-maximum message', () => {
    const check = checkActivationRequest(ROLE, DEFAULT_ROLE_SETTINGS, { durationMinutes: 600, justification: 'x' });
    expect(check.ok ? '' : check.problems[0]?.message).toBe(
      'Billing Administrator can be activated for at most 8 hours; you asked for 10 hours.',
    );
  });

  it('requires a justification unless the role waives it', () => {
    const blank = checkActivationRequest(ROLE, DEFAULT_ROLE_SETTINGS, { durationMinutes: 60, justification: '   ' });
    expect(blank.ok ? [] : blank.problems.map((problem) => problem.code)).toEqual(['justification_missing']);

    const relaxed: RoleSettings = { ...DEFAULT_ROLE_SETTINGS, requireJustification: false };
    const check = checkActivationRequest(ROLE, relaxed, { durationMinutes: 60, justification: undefined });
    expect(check).toEqual({ ok: true, durationMinutes: 60, justification: null, ticketSystem: null, ticketNumber: null });
  });

  it.each(['""', '"   "', '\u201C \u201D', '"" ""', '  ""  '])('rejects %j as a missing justification', (justification) => {
    const check = checkActivationRequest(ROLE, DEFAULT_ROLE_SETTINGS, { durationMinutes: 60, justification });
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems).toEqual([
      {
        field: 'justification',
        code: 'justification_missing',
        message: 'Billing Administrator requires a justification: say why you need it.',
      },
    ]);
  });

  it('stores blank justification as null when waived', () => {
    const relaxed: RoleSettings = { ...DEFAULT_ROLE_SETTINGS, requireJustification: false };
    const check = checkActivationRequest(ROLE, relaxed, { durationMinutes: 60, justification: '""' });
    expect(check).toEqual({ ok: true, durationMinutes: 60, justification: null, ticketSystem: null, ticketNumber: null });
  });

  it('keeps quotes around real text', () => {
    const check = checkActivationRequest(ROLE, DEFAULT_ROLE_SETTINGS, { durationMinutes: 60, justification: ' "INC-7" ' });
    expect(check.ok ? check.justification : undefined).toBe('"INC-7"');
  });

  it('rejects an over-long justification', () => {
    const check = checkActivationRequest(ROLE, DEFAULT_ROLE_SETTINGS, { durationMinutes: 60, justification: 'x'.repeat(501) });
    expect(check.ok ? [] : check.problems.map((problem) => problem.code)).toEqual(['justification_too_long']);
  });

  it('reports every broken rule at once', () => {
    const check = checkActivationRequest(ROLE, DEFAULT_ROLE_SETTINGS, { durationMinutes: 9999, justification: '' });
    expect(check.ok ? [] : check.problems.map((problem) => problem.field)).toEqual(['duration', 'justification']);
  });
});

describe('activationWindow', () => {
  it('ends exactly the duration after the start', () => {
    const now = new Date('2026-03-29T00:30:00Z');
    const window = activationWindow(now, 150);
    expect(window.startsAt).toEqual(now);
    expect(window.endsAt.toISOString()).toBe('2026-03-29T03:00:00.000Z');
    expect(window.durationMinutes).toBe(150);
  });

  it('keeps the duration before eligibility ends', () => {
    const now = new Date('2026-03-29T00:30:00Z');
    const window = activationWindow(now, 150, new Date('2026-03-29T03:00:00Z'));
    expect(window.endsAt.toISOString()).toBe('2026-03-29T03:00:00.000Z');
    expect(window.durationMinutes).toBe(150);
  });

  it('ends early with eligibility', () => {
    const now = new Date('2026-03-29T00:30:00Z');
    const eligibleUntil = new Date('2026-03-29T01:15:30Z');
    const window = activationWindow(now, 150, eligibleUntil);
    expect(window.endsAt).toEqual(eligibleUntil);
    expect(window.durationMinutes).toBe(46);
    expect(endsWithAssignment(window, eligibleUntil)).toBe(true);
    expect(endsWithAssignment(window, null)).toBe(false);
  });

  it('counts a last partial minute as one', () => {
    const now = new Date('2026-03-29T00:30:00Z');
    const window = activationWindow(now, 60, new Date('2026-03-29T00:30:20Z'));
    expect(window.durationMinutes).toBe(1);
  });
});

describe('readRoleSettings', () => {
  it('fills defaults for missing keys', () => {
    expect(readRoleSettings({})).toEqual(DEFAULT_ROLE_SETTINGS);
    expect(readRoleSettings({ maxActivationMinutes: 60 }).maxActivationMinutes).toBe(60);
  });

  it('throws on a damaged value instead of loosening a rule', () => {
    expect(() => readRoleSettings({ requireJustification: 'no' })).toThrow();
    expect(() => readRoleSettings({ maxActivationMinutes: 10 })).toThrow();
  });
});
