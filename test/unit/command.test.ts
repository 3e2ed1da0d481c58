import { describe, expect, it } from 'vitest';
import {
  USAGE,
  parsePimCommand,
  parseUserMention,
  tokenize,
  type PimCommand,
} from '../../src/domain/command.js';

function tokenValues(text: string): string[] | string {
  const result = tokenize(text);
  return result.ok ? result.tokens.map((token) => token.value) : `error: ${result.reason}`;
}

function messageOf(command: PimCommand): string {
  if (command.name !== 'invalid') throw new Error(`expected an invalid command, got ${command.name}`);
  return command.message;
}

describe('tokenize', () => {
  const cases: ReadonlyArray<[text: string, values: string[]]> = [
    ['', []],
    ['   ', []],
    ['activate', ['activate']],
    ['  activate   gadmin  ', ['activate', 'gadmin']],
    ['a\tb\nc', ['a', 'b', 'c']],
    ['activate "Global Administrator" 2h', ['activate', 'Global Administrator', '2h']],
    ['activate \u201CGlobal Administrator\u201D 2h', ['activate', 'Global Administrator', '2h']],
    ['activate \u201DGlobal Administrator\u201D 2h', ['activate', 'Global Administrator', '2h']],
    ['"" x', ['', 'x']],
    ['pre"quoted part"post', ['prequoted partpost']],
    ["don't stop", ["don't", 'stop']],
    ['<@U123|alice> x', ['<@U123|alice>', 'x']],
    ['<@U123|Alice Smith> x', ['<@U123|Alice Smith>', 'x']],
    ['a < b', ['a', '<', 'b']],
  ];

  it.each(cases)('splits %j', (text, values) => {
    expect(tokenValues(text)).toEqual(values);
  });

  it('records offsets in the raw text', () => {
    const result = tokenize('ab  "c d" e');

    expect(result).toEqual({
      ok: true,
      tokens: [
        { value: 'ab', quoted: false, start: 0, end: 2 },
        { value: 'c d', quoted: true, start: 4, end: 9 },
        { value: 'e', quoted: false, start: 10, end: 11 },
      ],
    });
  });

  it.each(['"Global Administrator', 'a \u201Cb c', 'a "b" "c'])('rejects unclosed quote in %j', (text) => {
    const result = tokenize(text);

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('not closed');
  });
});

describe('parseUserMention', () => {
  const cases: ReadonlyArray<[token: string, userId: string | undefined]> = [
    ['<@U123ABC|alice>', 'U123ABC'],
    ['<@U123ABC>', 'U123ABC'],
    ['<@W0123|bob>', 'W0123'],
    ['<@U123|Alice Smith>', 'U123'],
    ['<@u123>', undefined],
    ['@alice', undefined],
    ['U123', undefined],
    ['<#C123|general>', undefined],
    ['<!subteam^S123|admins>', undefined],
    ['<@U123|alice', undefined],
    ['<@U123|alice>x', undefined],
    ['', undefined],
  ];

  it.each(cases)('reads %j as %j', (token, userId) => {
    expect(parseUserMention(token)).toBe(userId);
  });
});

describe('parsePimCommand', () => {
  const cases: ReadonlyArray<[text: string, command: PimCommand]> = [
    ['', { name: 'help' }],
    ['   ', { name: 'help' }],
    ['help', { name: 'help' }],
    ['HELP me', { name: 'help' }],
    ['status', { name: 'status' }],
    ['Status please', { name: 'status' }],
    ['roles', { name: 'roles' }],
    ['frobnicate now', { name: 'unknown', word: 'frobnicate' }],
    ['Frobnicate', { name: 'unknown', word: 'Frobnicate' }],
    ['"activ', { name: 'unknown', word: '"activ' }],

    ['activate', { name: 'activate' }],
    ['ACTIVATE', { name: 'activate' }],
    ['activate gadmin', { name: 'activate', role: 'gadmin' }],
    ['activate gadmin 2h', { name: 'activate', role: 'gadmin', durationText: '2h', durationMinutes: 120 }],
    [
      'activate "Global Administrator" 1h30m fixing prod',
      {
        name: 'activate',
        role: 'Global Administrator',
        durationText: '1h30m',
        durationMinutes: 90,
        reason: 'fixing prod',
      },
    ],
    [
      'activate \u201CGlobal Administrator\u201D 30m  INC-42:  restore   backups ',
      {
        name: 'activate',
        role: 'Global Administrator',
        durationText: '30m',
        durationMinutes: 30,
        reason: 'INC-42:  restore   backups',
      },
    ],
    [
      'activate gadmin 2 hours fixing db',
      { name: 'activate', role: 'gadmin', durationText: '2 hours', durationMinutes: 120, reason: 'fixing db' },
    ],
    [
      'activate gadmin 1 hour 30 minutes',
      { name: 'activate', role: 'gadmin', durationText: '1 hour 30 minutes', durationMinutes: 90 },
    ],
    [
      'activate gadmin 1h 30m deploy',
      { name: 'activate', role: 'gadmin', durationText: '1h 30m', durationMinutes: 90, reason: 'deploy' },
    ],
    [
      'activate gadmin 45 ticket 7',
      { name: 'activate', role: 'gadmin', durationText: '45', durationMinutes: 45, reason: 'ticket 7' },
    ],
    [
      'activate gadmin "1 hour" "quoted" reason',
      { name: 'activate', role: 'gadmin', durationText: '1 hour', durationMinutes: 60, reason: '"quoted" reason' },
    ],
    [
      'activate gadmin 2h \u201C \u201D',
      { name: 'activate', role: 'gadmin', durationText: '2h', durationMinutes: 120 },
    ],
    [
      'assign <@U123> gadmin active "" ""',
      { name: 'assign', userId: 'U123', role: 'gadmin', kind: 'active' },
    ],
    [
      'activate gadmin 2h it\'s "urgent',
      { name: 'activate', role: 'gadmin', durationText: '2h', durationMinutes: 120, reason: 'it\'s "urgent' },
    ],
    [
      'activate R&amp;D 2h a &lt;b&gt; &amp;lt;',
      { name: 'activate', role: 'R&D', durationText: '2h', durationMinutes: 120, reason: 'a <b> &lt;' },
    ],
    [
      'activate gadmin 2h ask <@U123|alice>',
      { name: 'activate', role: 'gadmin', durationText: '2h', durationMinutes: 120, reason: 'ask <@U123|alice>' },
    ],

    ['deactivate', { name: 'deactivate' }],
    ['deactivate gadmin', { name: 'deactivate', role: 'gadmin' }],
    ['Deactivate Global   Administrator', { name: 'deactivate', role: 'Global Administrator' }],
    ['deactivate "Global Administrator"', { name: 'deactivate', role: 'Global Administrator' }],
    ['deactivate \u201CGlobal Administrator\u201D', { name: 'deactivate', role: 'Global Administrator' }],

    [
      'assign <@U123|alice> gadmin',
      { name: 'assign', userId: 'U123', role: 'gadmin', kind: 'eligible' },
    ],
    [
      'ASSIGN <@U123> gadmin Active',
      { name: 'assign', userId: 'U123', role: 'gadmin', kind: 'active' },
    ],
    [
      'assign <@W9|bob> "Global Administrator" eligible until 2026-03-31 on-call rotation',
      {
        name: 'assign',
        userId: 'W9',
        role: 'Global Administrator',
        kind: 'eligible',
        until: '2026-03-31',
        reason: 'on-call rotation',
      },
    ],
    [
      'assign <@U123> gadmin until 2026-03-31T17:00 active covering for Bo',
      {
        name: 'assign',
        userId: 'U123',
        role: 'gadmin',
        kind: 'active',
        until: '2026-03-31T17:00',
        reason: 'covering for Bo',
      },
    ],
    [
      'assign <@U123> gadmin UNTIL "2026-03-31"',
      { name: 'assign', userId: 'U123', role: 'gadmin', kind: 'eligible', until: '2026-03-31' },
    ],
    [
      'assign <@U123> gadmin eligible eligible for on-call',
      { name: 'assign', userId: 'U123', role: 'gadmin', kind: 'eligible', reason: 'eligible for on-call' },
    ],
    [
      'assign <@U123> gadmin new hire',
      { name: 'assign', userId: 'U123', role: 'gadmin', kind: 'eligible', reason: 'new hire' },
    ],
    [
      'assign <@U123|Alice Smith> gadmin active',
      { name: 'assign', userId: 'U123', role: 'gadmin', kind: 'active' },
    ],

    ['remove <@U123|alice> gadmin', { name: 'remove', userId: 'U123', role: 'gadmin' }],
    [
      'Remove <@U123> "Global Administrator"  left the team ',
      { name: 'remove', userId: 'U123', role: 'Global Administrator', reason: 'left the team' },
    ],
  ];

  it.each(cases)('parses %j', (text, command) => {
    expect(parsePimCommand(text)).toStrictEqual(command);
  });

  const invalid: ReadonlyArray<[text: string, subcommand: string, fragment: string]> = [
    ['activate gadmin 2x', 'activate', '"2x" is not a duration'],
    ['activate gadmin 0m', 'activate', '"0m" is zero'],
    ['activate gadmin 1h2h', 'activate', '"1h2h" is not a duration'],
    ['activate "Global Admin', 'activate', 'not closed'],
    ['activate gadmin "2h', 'activate', 'not closed'],
    ['deactivate "Global Admin', 'deactivate', 'not closed'],
    ['assign', 'assign', 'The user and the role are missing.'],
    ['assign <@U123>', 'assign', 'The role is missing.'],
    ['assign @alice gadmin', 'assign', '"@alice" is not a mention of a Slack user'],
    ['assign gadmin <@U123>', 'assign', '"gadmin" is not a mention of a Slack user'],
    ['assign <@U123> gadmin until', 'assign', '"until" needs a date'],
    ['assign <@U123> "gadmin', 'assign', 'not closed'],
    ['remove', 'remove', 'The user and the role are missing.'],
    ['remove <@U123|alice>', 'remove', 'The role is missing.'],
    ['remove alice gadmin', 'remove', '"alice" is not a mention of a Slack user'],
  ];

  it.each(invalid)('rejects %j', (text, subcommand, fragment) => {
    const command = parsePimCommand(text);

    expect(command.name).toBe('invalid');
    expect(command).toHaveProperty('subcommand', subcommand);
    expect(messageOf(command)).toContain(fragment);
  });

  it.each([
    ['assign', 'assign'],
    ['assign @alice gadmin', 'assign'],
    ['remove <@U1>', 'remove'],
  ] as const)('error for %j names its subcommand for the usage line', (text, subcommand) => {
    const command = parsePimCommand(text);
    expect(command).toHaveProperty('subcommand', subcommand);
    expect(messageOf(command)).not.toContain('Usage:');
  });

  it('bad duration message is the duration reason', () => {
    expect(messageOf(parsePimCommand('activate gadmin 2x'))).toBe(
      '"2x" is not a duration. Write it like 30m, 2h, 1h30m or 90 minutes.',
    );
  });

  it('unquoted role with spaces gets a quoting hint', () => {
    const message = messageOf(parsePimCommand('activate Global Administrator 2h'));

    expect(message).toContain('"Administrator" is not a duration');
    expect(message).toContain('/pim activate "Global Administrator" 2h');
  });

  it('quoted role gets no quoting hint', () => {
    const message = messageOf(parsePimCommand('activate "Global Administrator" Admin'));

    expect(message).not.toContain('put it in quotes');
  });

  it('numeric bad duration gets no quoting hint', () => {
    const message = messageOf(parsePimCommand('activate gadmin 2x'));

    expect(message).not.toContain('put it in quotes');
  });
});

describe('USAGE', () => {
  it.each(Object.entries(USAGE))('%s has a usage line and a sentence', (subcommand, entry) => {
    expect(entry.usage.startsWith(`/pim ${subcommand}`)).toBe(true);
    expect(entry.description).toMatch(/^[A-Z].*\.$/);
  });

  it('every subcommand in USAGE is parsed', () => {
    for (const subcommand of Object.keys(USAGE)) {
      expect(parsePimCommand(subcommand).name, subcommand).not.toBe('unknown');
    }
  });
});
