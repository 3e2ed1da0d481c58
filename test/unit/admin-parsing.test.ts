import { describe, expect, it } from 'vitest';
import { endNoticesAlreadyDue, nextEndNoticeAt } from '../../src/domain/assignment-ending.js';
import { parsePimCommand } from '../../src/domain/command.js';
import { parseManagerLines } from '../../src/slack/admin/manager-lines.js';

const DAY_MS = 24 * 60 * 60_000;

describe('setup and manager commands', () => {
  it('parses setup without arguments', () => {
    expect(parsePimCommand('setup')).toEqual({ name: 'setup' });
    expect(parsePimCommand('setup now')).toMatchObject({ name: 'invalid', subcommand: 'setup' });
  });

  it('parses manager with two mentions or none', () => {
    expect(parsePimCommand('manager <@U1AAA|ada> <@U2BBB|grace>')).toEqual({ name: 'manager', userId: 'U1AAA', managerId: 'U2BBB' });
    expect(parsePimCommand('manager')).toEqual({ name: 'manager' });
  });

  it('rejects manager with one mention, a word or the same person', () => {
    expect(parsePimCommand('manager <@U1AAA>')).toMatchObject({ name: 'invalid', subcommand: 'manager' });
    expect(parsePimCommand('manager <@U1AAA> bob')).toMatchObject({ name: 'invalid' });
    expect(parsePimCommand('manager <@U1AAA> <@U1AAA>')).toMatchObject({ name: 'invalid', message: 'Someone cannot be their own manager.' });
  });
});

describe('manager lines', () => {
  it('reads mentions, user IDs and e-mail addresses', () => {
    const lines = parseManagerLines('<@U1AAA>,U2BBB\n\nada@example.com, grace@example.com\n@W3CCC;U4DDD');
    expect(lines).toEqual([
      { ok: true, line: 1, text: '<@U1AAA>,U2BBB', user: { type: 'id', userId: 'U1AAA' }, manager: { type: 'id', userId: 'U2BBB' } },
      { ok: true, line: 3, text: 'ada@example.com, grace@example.com', user: { type: 'email', email: 'ada@example.com' }, manager: { type: 'email', email: 'grace@example.com' } },
      { ok: true, line: 4, text: '@W3CCC;U4DDD', user: { type: 'id', userId: 'W3CCC' }, manager: { type: 'id', userId: 'U4DDD' } },
    ]);
  });

  it('reports lines it cannot read with their number', () => {
    const [one, two] = parseManagerLines('just-one\n@ada,U2BBB');
    expect(one).toMatchObject({ ok: false, line: 1, problem: 'expected two people separated by a comma' });
    expect(two).toMatchObject({ ok: false, line: 2 });
    expect(two?.ok === false && two.problem).toContain('"@ada" is not a mention');
  });
});

describe('assignment end notices', () => {
  const now = new Date('2026-03-01T00:00:00Z');

  it('skips notices already inside the remaining time', () => {
    expect(endNoticesAlreadyDue(new Date(now.getTime() + 30 * DAY_MS), now)).toBe(0);
    expect(endNoticesAlreadyDue(new Date(now.getTime() + 5 * DAY_MS), now)).toBe(1);
    expect(endNoticesAlreadyDue(new Date(now.getTime() + 12 * 60 * 60_000), now)).toBe(2);
    expect(endNoticesAlreadyDue(null, now)).toBe(2);
  });

  it('schedules the 14-day, then the 1-day notice, then none', () => {
    const endsAt = new Date(now.getTime() + 30 * DAY_MS);
    expect(nextEndNoticeAt(endsAt, 0)).toEqual(new Date(endsAt.getTime() - 14 * DAY_MS));
    expect(nextEndNoticeAt(endsAt, 1)).toEqual(new Date(endsAt.getTime() - DAY_MS));
    expect(nextEndNoticeAt(endsAt, 2)).toBeNull();
  });
});
