import { describe, expect, it } from 'vitest';
import {
  DURATION_EXAMPLES,
  MAX_DURATION_TEXT_LENGTH,
  formatDuration,
  formatSeconds,
  parseDuration,
} from '../../src/domain/duration.js';

describe('parseDuration', () => {
  const accepted: ReadonlyArray<[text: string, minutes: number]> = [
    ['30m', 30],
    ['2h', 120],
    ['1h30m', 90],
    ['1h 30m', 90],
    ['1 h 30 m', 90],
    ['90 minutes', 90],
    ['90 min', 90],
    ['90mins', 90],
    ['1 minute', 1],
    ['1 hour', 60],
    ['2 hours', 120],
    ['2hrs', 120],
    ['1 hour 30 minutes', 90],
    ['1.5h', 90],
    ['0.5 hours', 30],
    ['1.55h', 93],
    ['1.15h', 69],
    ['0.25h', 15],
    ['2.0h', 120],
    ['1.5h 15m', 105],
    ['45', 45],
    ['1', 1],
    ['  2H  ', 120],
    ['1H30M', 90],
    ['90 MINUTES', 90],
    ['24h', 1440],
    ['48h', 2880],
  ];

  it.each(accepted)('reads %j as %i minutes', (text, minutes) => {
    expect(parseDuration(text)).toEqual({ ok: true, minutes });
  });

  const rejected: ReadonlyArray<[text: string, why: string]> = [
    ['', 'empty'],
    ['   ', 'blank'],
    ['0', 'zero'],
    ['0m', 'zero'],
    ['0h 0m', 'zero'],
    ['-30m', 'negative'],
    ['-1', 'negative'],
    ['2x', 'unknown unit'],
    ['2 days', 'unknown unit'],
    ['h', 'unit without number'],
    ['1h2h', 'hours twice'],
    ['30m30m', 'minutes twice'],
    ['30m 1h', 'minutes before hours'],
    ['1h30', 'trailing number without unit'],
    ['1h, 30m', 'punctuation'],
    ['1h and 30m', 'filler word'],
    ['.5h', 'fraction without integer part'],
    ['1.h', 'decimal point without digits'],
    ['1.5', 'fractional bare minutes'],
    ['0.01h', 'not a whole minute'],
    ['1.5m', 'not a whole minute'],
    ['1e3m', 'exponent'],
    ['one hour', 'number in words'],
    ['٣٠m', 'non-ASCII digits'],
    ['9'.repeat(20) + 'h', 'above the safe integer range'],
    ['1'.repeat(MAX_DURATION_TEXT_LENGTH + 1), 'over the length limit'],
  ];

  it.each(rejected)('rejects %j (%s)', (text) => {
    expect(parseDuration(text).ok).toBe(false);
  });

  it('accepts input at the length limit', () => {
    const text = `${'0'.repeat(MAX_DURATION_TEXT_LENGTH - 3)}30m`;

    expect(parseDuration(text)).toEqual({ ok: true, minutes: 30 });
  });

  it('rejection names the value and the accepted forms', () => {
    expect(parseDuration('2x')).toEqual({
      ok: false,
      reason: '"2x" is not a duration. Write it like 30m, 2h, 1h30m or 90 minutes.',
    });
  });

  it('rejection keeps the value as typed', () => {
    const result = parseDuration('  2X ');

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('"2X"');
  });

  const reasons: ReadonlyArray<[text: string, fragment: string]> = [
    ['', 'missing'],
    ['0m', 'is zero'],
    ['0.01h', 'not a whole number of minutes'],
    ['9'.repeat(20) + 'h', 'too large'],
    ['x'.repeat(MAX_DURATION_TEXT_LENGTH + 5), `longer than ${MAX_DURATION_TEXT_LENGTH} characters`],
  ];

  it.each(reasons)('reason for %j says %j', (text, fragment) => {
    const result = parseDuration(text);

    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toContain(fragment);
      expect(result.reason).toContain(DURATION_EXAMPLES);
    }
  });

  it('long input is cut in the reason', () => {
    const result = parseDuration('x'.repeat(500));

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeLessThan(200);
  });

  it('same input twice gives the same result', () => {
    // The unit pattern is sticky, so a leaked lastIndex would break the second call.
    expect(parseDuration('1h30m')).toEqual(parseDuration('1h30m'));
    expect(parseDuration('2x')).toEqual(parseDuration('2x'));
    expect(parseDuration('1h 30m')).toEqual({ ok: true, minutes: 90 });
  });
});

describe('formatDuration', () => {
  const cases: ReadonlyArray<[minutes: number, text: string]> = [
    [0, '0 minutes'],
    [1, '1 minute'],
    [30, '30 minutes'],
    [60, '1 hour'],
    [61, '1 hour 1 minute'],
    [90, '1 hour 30 minutes'],
    [120, '2 hours'],
    [150, '2 hours 30 minutes'],
    [1440, '24 hours'],
  ];

  it.each(cases)('formats %i as %j', (minutes, text) => {
    expect(formatDuration(minutes)).toBe(text);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('throws for %d', (minutes) => {
    expect(() => formatDuration(minutes)).toThrow(RangeError);
  });

  it.each([1, 30, 59, 60, 61, 90, 1440, 1441])('round-trips %i minutes', (minutes) => {
    expect(parseDuration(formatDuration(minutes))).toEqual({ ok: true, minutes });
  });
});

describe('formatSeconds', () => {
  it.each([
    [1, '1 second'],
    [2, '2 seconds'],
    [60, '60 seconds'],
  ])('formats %i as %j', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text);
  });
});
