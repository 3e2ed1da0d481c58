import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ASSIGNMENT_END_EXAMPLES,
  DEFAULT_SLACK_DATE_FORMAT,
  parseAssignmentEnd,
  slackDateToken,
} from '../../src/domain/dates.js';

// Every expectation below is an absolute UTC instant, so the suite passes whatever the TZ of
// the test process is.
const BEFORE_ALL_CASES = new Date('2026-01-01T00:00:00Z');

function endOf(text: string, timeZone: string, now: Date = BEFORE_ALL_CASES): string {
  const result = parseAssignmentEnd(text, timeZone, now);
  return result.ok ? result.endsAt.toISOString() : `error: ${result.reason}`;
}

function reasonOf(text: string, timeZone: string, now: Date = BEFORE_ALL_CASES): string {
  const result = parseAssignmentEnd(text, timeZone, now);
  if (result.ok) throw new Error(`expected "${text}" in ${timeZone} to be rejected`);
  return result.reason;
}

describe('parseAssignmentEnd', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const accepted: ReadonlyArray<[text: string, timeZone: string, endsAt: string]> = [
    // A date ends at the start of the next day in the zone.
    ['2026-03-31', 'UTC', '2026-04-01T00:00:00.000Z'],
    ['2026-03-31', 'Europe/Berlin', '2026-03-31T22:00:00.000Z'],
    ['2026-03-31', 'Asia/Kolkata', '2026-03-31T18:30:00.000Z'],
    ['2026-12-31', 'UTC', '2027-01-01T00:00:00.000Z'],
    ['2028-02-29', 'UTC', '2028-03-01T00:00:00.000Z'],
    ['2026-03-31T17:00', 'UTC', '2026-03-31T17:00:00.000Z'],
    ['2026-03-31T17:00', 'Asia/Kolkata', '2026-03-31T11:30:00.000Z'],
    ['2026-03-31T00:00', 'Asia/Kolkata', '2026-03-30T18:30:00.000Z'],
    ['2026-03-31T23:59', 'UTC', '2026-03-31T23:59:00.000Z'],
    ['2026-03-31t17:00', 'UTC', '2026-03-31T17:00:00.000Z'],
    ['2026-03-31 17:00', 'UTC', '2026-03-31T17:00:00.000Z'],
    ['  2026-03-31  ', 'UTC', '2026-04-01T00:00:00.000Z'],
    ['2026-03-31', 'asia/kolkata', '2026-03-31T18:30:00.000Z'],

    // America/New_York springs forward on 2026-03-08 at 02:00 EST to 03:00 EDT.
    ['2026-03-07', 'America/New_York', '2026-03-08T05:00:00.000Z'],
    ['2026-03-08', 'America/New_York', '2026-03-09T04:00:00.000Z'],
    ['2026-03-08T01:59', 'America/New_York', '2026-03-08T06:59:00.000Z'],
    ['2026-03-08T03:00', 'America/New_York', '2026-03-08T07:00:00.000Z'],

    // It falls back on 2026-11-01 at 02:00 EDT to 01:00 EST, so 01:00 to 01:59 happen twice.
    ['2026-10-31', 'America/New_York', '2026-11-01T04:00:00.000Z'],
    ['2026-11-01', 'America/New_York', '2026-11-02T05:00:00.000Z'],
    ['2026-11-01T00:59', 'America/New_York', '2026-11-01T04:59:00.000Z'],
    ['2026-11-01T01:30', 'America/New_York', '2026-11-01T05:30:00.000Z'],
    ['2026-11-01T02:00', 'America/New_York', '2026-11-01T07:00:00.000Z'],

    // America/Santiago skips midnight on 2026-09-06 (00:00 -04 becomes 01:00 -03), so that
    // day starts at 01:00.
    ['2026-09-05', 'America/Santiago', '2026-09-06T04:00:00.000Z'],
  ];

  it.each(accepted)('reads %j in %s', (text, timeZone, endsAt) => {
    expect(endOf(text, timeZone)).toBe(endsAt);
  });

  const invalidDates: readonly string[] = [
    '2026-02-30',
    '2026-02-29',
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '2026-03-00',
    '2026-03-31T24:00',
    '2026-03-31T12:60',
  ];

  it.each(invalidDates)('rejects invalid date %j', (text) => {
    expect(reasonOf(text, 'UTC')).toBe(
      `"${text}" is not a valid date or time. Write it like ${ASSIGNMENT_END_EXAMPLES}.`,
    );
  });

  const notDates: readonly string[] = [
    '',
    'tomorrow',
    '31.03.2026',
    '03/31/2026',
    '2026-3-31',
    '2026-03-31T17',
    '2026-03-31T17:00:00',
    '2026-03-31T17:00Z',
    '2026-03-31T17:00+02:00',
    '12026-03-31',
  ];

  it.each(notDates)('rejects non-date %j', (text) => {
    expect(reasonOf(text, 'UTC')).toBe(`"${text}" is not a date. Write it like ${ASSIGNMENT_END_EXAMPLES}.`);
  });

  it.each(['Mars/Base', '', 'local', 'UTC+5', 'America/New York'])('rejects zone %j', (timeZone) => {
    const reason = reasonOf('2026-03-31', timeZone);

    expect(reason).toContain(`"${timeZone}" is not a known time zone`);
  });

  it('rejects a time the clocks skip', () => {
    expect(reasonOf('2026-03-08T02:30', 'America/New_York')).toBe(
      '2026-03-08T02:30 does not exist in America/New_York, because the clocks skip forward at that time. Pick another time.',
    );
  });

  it.each([
    ['2026-03-29T01:30', 'Europe/London'],
    ['2026-03-08T02:00', 'America/New_York'],
    ['2026-09-06T00:30', 'America/Santiago'],
  ])('rejects skipped %s in %s', (text, timeZone) => {
    expect(reasonOf(text, timeZone)).toContain('does not exist');
  });

  it.each(['2026-01-15T12:00:00Z', '2026-07-15T12:00:00Z'])(
    'repeated time is the same with system clock at %s',
    (systemTime) => {
      // Luxon's own conversion guesses the offset from the system clock, and the parser must not.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date(systemTime));

      expect(endOf('2026-11-01T01:30', 'America/New_York')).toBe('2026-11-01T05:30:00.000Z');
    },
  );

  describe('relative to now', () => {
    const now = new Date('2026-06-15T12:00:00Z');

    const cases: ReadonlyArray<[text: string, timeZone: string, expected: string]> = [
      ['2026-06-14', 'UTC', 'passed'],
      ['2026-06-15', 'UTC', '2026-06-16T00:00:00.000Z'],
      ['2026-06-15T11:59', 'UTC', 'passed'],
      ['2026-06-15T12:00', 'UTC', 'passed'],
      ['2026-06-15T12:01', 'UTC', '2026-06-15T12:01:00.000Z'],
      // 12:00 UTC is 17:30 in Kolkata.
      ['2026-06-15T17:30', 'Asia/Kolkata', 'passed'],
      ['2026-06-15T17:31', 'Asia/Kolkata', '2026-06-15T12:01:00.000Z'],
      // 12:00 UTC is already 2026-06-16 in Pacific/Kiritimati (UTC+14).
      ['2026-06-15', 'Pacific/Kiritimati', 'passed'],
      ['2026-06-16', 'Pacific/Kiritimati', '2026-06-16T10:00:00.000Z'],
    ];

    it.each(cases)('%s in %s is %s', (text, timeZone, expected) => {
      const result = endOf(text, timeZone, now);

      if (expected === 'passed') {
        expect(result).toBe(`error: ${text} has already passed in ${timeZone}. Pick a date in the future.`);
      } else {
        expect(result).toBe(expected);
      }
    });
  });
});

describe('slackDateToken', () => {
  const cases: ReadonlyArray<[date: Date, format: string | undefined, token: string]> = [
    [
      new Date('2026-03-31T17:00:00Z'),
      undefined,
      '<!date^1774976400^{date_short_pretty} {time}|2026-03-31T17:00:00Z>',
    ],
    [
      new Date('2026-03-31T17:00:59.999Z'),
      '{date_num} {time_secs}',
      '<!date^1774976459^{date_num} {time_secs}|2026-03-31T17:00:59Z>',
    ],
    [new Date('1970-01-01T00:00:00Z'), '{date}', '<!date^0^{date}|1970-01-01T00:00:00Z>'],
    [
      new Date('2026-03-31T17:00:00Z'),
      'until {date_long_pretty} at {time}',
      '<!date^1774976400^until {date_long_pretty} at {time}|2026-03-31T17:00:00Z>',
    ],
  ];

  it.each(cases)('formats %s with %j', (date, format, token) => {
    expect(slackDateToken(date, format)).toBe(token);
  });

  it('default format is date and time', () => {
    expect(DEFAULT_SLACK_DATE_FORMAT).toBe('{date_short_pretty} {time}');
  });

  it('throws for an invalid date', () => {
    expect(() => slackDateToken(new Date(Number.NaN))).toThrow(RangeError);
  });

  it.each(['{date}|x', '{date}^https://example.com', '<{date}>'])('throws for format %j', (format) => {
    expect(() => slackDateToken(new Date(0), format)).toThrow(RangeError);
  });
});
