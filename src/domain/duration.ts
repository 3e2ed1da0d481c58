/** Maximum length of duration text, in characters. Longer text is a typo or a paste. */
export const MAX_DURATION_TEXT_LENGTH = 40;

export const MINUTES_PER_HOUR = 60;

/** The accepted forms, as shown to users in every rejection. */
export const DURATION_EXAMPLES = '30m, 2h, 1h30m or 90 minutes';

const HOUR_UNITS = new Set(['h', 'hr', 'hrs', 'hour', 'hours']);
const MINUTE_UNITS = new Set(['m', 'min', 'mins', 'minute', 'minutes']);

// A number with an optional decimal fraction, optional spaces, then a unit word. The sticky
// flag makes each match start exactly where the previous one ended, so nothing is skipped.
// readComponents copies it, because a shared sticky pattern carries lastIndex between calls.
const COMPONENT_PATTERN = /(\d+)(?:\.(\d+))?\s*([a-z]+)\s*/y;
const BARE_NUMBER_PATTERN = /^(\d+)(?:\.(\d+))?$/;

export type DurationParseResult = { ok: true; minutes: number } | { ok: false; reason: string };

type Unit = 'hours' | 'minutes';

interface Component {
  unit: Unit;
  integerDigits: string;
  fractionDigits: string;
}

/**
 * Parses a duration typed by a user into whole minutes.
 *
 * Accepts hours, minutes or both, in that order, each at most once: `30m`, `2h`, `1h30m`,
 * `1h 30m`, `90 minutes`, `1 hour`, `1.5h`. A bare number such as `45` means minutes. Case and
 * surrounding spaces are ignored. Decimals are computed exactly, so `1.55h` is 93 minutes while
 * `0.01h` (0.6 minutes) is rejected. The result is always a positive safe integer.
 */
export function parseDuration(text: string): DurationParseResult {
  const trimmed = text.trim();
  const normalized = trimmed.toLowerCase();

  if (normalized.length === 0) {
    return reject(`A duration is missing. Write it like ${DURATION_EXAMPLES}.`);
  }
  if (trimmed.length > MAX_DURATION_TEXT_LENGTH) {
    const excerpt = `${trimmed.slice(0, MAX_DURATION_TEXT_LENGTH)}…`;
    return reject(
      `"${excerpt}" is longer than ${MAX_DURATION_TEXT_LENGTH} characters, so it is not a duration. ` +
        `Write it like ${DURATION_EXAMPLES}.`,
    );
  }

  const components = readComponents(normalized);
  if (components === undefined) {
    return reject(`"${trimmed}" is not a duration. Write it like ${DURATION_EXAMPLES}.`);
  }

  const totalMinutes = sumExactMinutes(components);
  if (totalMinutes === undefined) {
    return reject(
      `"${trimmed}" is not a whole number of minutes. Write it like ${DURATION_EXAMPLES}.`,
    );
  }
  if (totalMinutes === 0n) {
    return reject(
      `"${trimmed}" is zero. Give a duration of at least 1 minute, like ${DURATION_EXAMPLES}.`,
    );
  }
  if (totalMinutes > BigInt(Number.MAX_SAFE_INTEGER)) {
    return reject(`"${trimmed}" is too large to be a duration. Write it like ${DURATION_EXAMPLES}.`);
  }

  return { ok: true, minutes: Number(totalMinutes) };
}

/**
 * Formats whole minutes as English words: `30 minutes`, `1 hour`, `1 hour 30 minutes`,
 * `24 hours`. Throws a RangeError for a negative or fractional value.
 */
export function formatDuration(minutes: number): string {
  if (!Number.isSafeInteger(minutes) || minutes < 0) {
    throw new RangeError(`formatDuration expects whole minutes of 0 or more, got ${minutes}`);
  }

  const hours = Math.floor(minutes / MINUTES_PER_HOUR);
  const remainingMinutes = minutes % MINUTES_PER_HOUR;
  const parts: string[] = [];
  if (hours > 0) parts.push(pluralize(hours, 'hour'));
  if (remainingMinutes > 0 || hours === 0) parts.push(pluralize(remainingMinutes, 'minute'));
  return parts.join(' ');
}

/** Formats a wait in whole seconds as English words: `1 second`, `20 seconds`. */
export function formatSeconds(seconds: number): string {
  return pluralize(seconds, 'second');
}

/**
 * Splits normalized text into unit components, or returns undefined when the text is not
 * a duration: unknown unit, a unit given twice, minutes before hours, or stray characters.
 */
function readComponents(normalized: string): Component[] | undefined {
  const bare = BARE_NUMBER_PATTERN.exec(normalized);
  if (bare !== null) {
    return [{ unit: 'minutes', integerDigits: bare[1] ?? '', fractionDigits: bare[2] ?? '' }];
  }

  const components: Component[] = [];
  const pattern = new RegExp(COMPONENT_PATTERN);
  while (pattern.lastIndex < normalized.length) {
    const match = pattern.exec(normalized);
    if (match === null) return undefined;

    const unit = unitOf(match[3] ?? '');
    if (unit === undefined) return undefined;

    // Hours, then minutes: "30m 1h" and "1h 2h" are more likely typos than intent.
    const previous = components.at(-1);
    if (previous !== undefined && (previous.unit === unit || previous.unit === 'minutes')) {
      return undefined;
    }
    components.push({ unit, integerDigits: match[1] ?? '', fractionDigits: match[2] ?? '' });
  }
  return components.length > 0 ? components : undefined;
}

function unitOf(word: string): Unit | undefined {
  if (HOUR_UNITS.has(word)) return 'hours';
  if (MINUTE_UNITS.has(word)) return 'minutes';
  return undefined;
}

/**
 * Adds the components up in exact integer arithmetic, because binary floating point cannot
 * tell whether something like 1.15 hours is a whole number of minutes. Returns undefined
 * when the total is not whole.
 */
function sumExactMinutes(components: readonly Component[]): bigint | undefined {
  // Each component is digits / 10^scale units. Bring them all to the largest scale, add, and
  // check that the sum divides back to a whole number of minutes.
  const scale = Math.max(...components.map((component) => component.fractionDigits.length));
  const denominator = 10n ** BigInt(scale);

  let scaledMinutes = 0n;
  for (const component of components) {
    const paddedFraction = component.fractionDigits.padEnd(scale, '0');
    const scaledValue = BigInt(component.integerDigits + paddedFraction);
    const minutesPerUnit = component.unit === 'hours' ? BigInt(MINUTES_PER_HOUR) : 1n;
    scaledMinutes += scaledValue * minutesPerUnit;
  }

  if (scaledMinutes % denominator !== 0n) return undefined;
  return scaledMinutes / denominator;
}

function pluralize(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

function reject(reason: string): DurationParseResult {
  return { ok: false, reason };
}
