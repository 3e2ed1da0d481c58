import { DateTime, IANAZone } from 'luxon';

/** The accepted end-date forms, as shown to users in every rejection. */
export const ASSIGNMENT_END_EXAMPLES = '2026-03-31 or 2026-03-31T17:00';

/** Slack date format used when the caller gives none, such as "Mar 31, 2026 5:00 PM". */
export const DEFAULT_SLACK_DATE_FORMAT = '{date_short_pretty} {time}';

// YYYY-MM-DD, optionally followed by T (or a space) and HH:MM.
const END_DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?$/i;

// Characters that delimit the parts of Slack's <!date^…|…> token, so a format must not
// contain them.
const SLACK_DATE_DELIMITER_PATTERN = /[\^|<>]/;

const MAX_HOUR = 23;
const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;

export type AssignmentEndParseResult = { ok: true; endsAt: Date } | { ok: false; reason: string };

/** Placement of a wall-clock time in a time zone: its instant, or the one after a skipped time. */
type WallTimeResolution =
  | { kind: 'exists'; instantMs: number }
  | { kind: 'skipped'; firstInstantAfterMs: number };

/**
 * Parses the end of an assignment as typed by a user in `timeZone`, an IANA zone name.
 *
 * `YYYY-MM-DDTHH:MM` is that minute in the zone. `YYYY-MM-DD` includes the whole day, so it
 * ends at the start of the next day in the zone. That exclusive end is a single instant that
 * compares cleanly with `now < endsAt` and needs no 23:59:59.999 in storage. A time repeated
 * when clocks go back means its first occurrence, so access ends at the earlier instant. A time
 * skipped when clocks go forward is rejected. An unknown zone, an invalid date and an end that
 * is not after `now` are rejected with a reason for the user.
 */
export function parseAssignmentEnd(
  text: string,
  timeZone: string,
  now: Date,
): AssignmentEndParseResult {
  const trimmed = text.trim();

  // Luxon also accepts "local" (the process's zone) and fixed offsets such as "UTC+5". Only
  // IANA names pass here, so a bad zone is an error instead of a silent fallback.
  if (!IANAZone.isValidZone(timeZone)) {
    return reject(
      `"${timeZone}" is not a known time zone, so "${trimmed}" cannot be read. ` +
        'Use an IANA time zone name such as Europe/Berlin.',
    );
  }
  const zone = IANAZone.create(timeZone);

  const match = END_DATE_PATTERN.exec(trimmed);
  if (match === null) {
    return reject(`"${trimmed}" is not a date. Write it like ${ASSIGNMENT_END_EXAMPLES}.`);
  }
  const hasTime = match[4] !== undefined;
  const hour = Number(match[4] ?? 0);
  const minute = Number(match[5] ?? 0);

  // Luxon in UTC validates the calendar date and gives the wall-clock time as a number, which
  // resolveWallTime then places in the zone. Luxon reads hour 24 as midnight of the next day,
  // but an end time names a minute of the given day, so hours stop at 23.
  const wallTime = DateTime.utc(Number(match[1]), Number(match[2]), Number(match[3]), hour, minute);
  if (!wallTime.isValid || hour > MAX_HOUR) {
    return reject(
      `"${trimmed}" is not a valid date or time. Write it like ${ASSIGNMENT_END_EXAMPLES}.`,
    );
  }

  const endsAtMs = hasTime
    ? resolveTimeOfDay(wallTime, zone)
    : startOfDayMs(wallTime.plus({ days: 1 }), zone);
  if (endsAtMs === undefined) {
    return reject(
      `${trimmed} does not exist in ${timeZone}, because the clocks skip forward at that time. ` +
        'Pick another time.',
    );
  }

  if (endsAtMs <= now.getTime()) {
    return reject(`${trimmed} has already passed in ${timeZone}. Pick a date in the future.`);
  }
  return { ok: true, endsAt: new Date(endsAtMs) };
}

/**
 * Formats `date` as Slack's date token, which every reader sees in their own time zone:
 * `<!date^EPOCH_SECONDS^FORMAT|FALLBACK>`. The fallback, shown by clients that cannot render
 * the token, is the ISO 8601 time in UTC. Throws a RangeError for an invalid date, or for a
 * format containing `^`, `|`, `<` or `>`, which would break the token.
 * Token syntax: https://docs.slack.dev/messaging/formatting-message-text/
 */
export function slackDateToken(date: Date, format: string = DEFAULT_SLACK_DATE_FORMAT): string {
  const timeMs = date.getTime();
  if (!Number.isFinite(timeMs)) {
    throw new RangeError('slackDateToken needs a valid date');
  }
  if (SLACK_DATE_DELIMITER_PATTERN.test(format)) {
    throw new RangeError(`Slack date format must not contain ^, |, < or >: ${format}`);
  }

  // Slack takes whole seconds. The fallback shows the same truncated second.
  const epochSeconds = Math.floor(timeMs / 1000);
  const fallback = new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `<!date^${epochSeconds}^${format}|${fallback}>`;
}

/** Returns the instant of a wall-clock time in `zone`, or undefined when clocks skip it. */
function resolveTimeOfDay(wallTime: DateTime, zone: IANAZone): number | undefined {
  const resolution = resolveWallTime(wallTime.toMillis(), zone);
  return resolution.kind === 'exists' ? resolution.instantMs : undefined;
}

/**
 * Returns the first instant of a calendar day in `zone`. That is midnight, except where the
 * clocks skip midnight (as in America/Santiago), where the day starts when they resume.
 */
function startOfDayMs(day: DateTime, zone: IANAZone): number {
  const resolution = resolveWallTime(day.startOf('day').toMillis(), zone);
  return resolution.kind === 'exists' ? resolution.instantMs : resolution.firstInstantAfterMs;
}

/**
 * Places a wall-clock time (given as milliseconds as if it were UTC) in `zone`.
 *
 * Luxon's own conversion guesses the offset from the current date, so a time repeated when
 * clocks go back would resolve differently in summer and in winter. Here the candidates are
 * the offsets a day before and a day after, and the earliest instant that shows this wall
 * time wins. That assumes the zone changes its offset at most once within a day either side.
 */
function resolveWallTime(wallMs: number, zone: IANAZone): WallTimeResolution {
  const offsetBeforeMinutes = zone.offset(wallMs - MS_PER_DAY);
  const offsetAfterMinutes = zone.offset(wallMs + MS_PER_DAY);

  const instants = [offsetBeforeMinutes, offsetAfterMinutes]
    .map((offsetMinutes) => ({ offsetMinutes, instantMs: wallMs - offsetMinutes * MS_PER_MINUTE }))
    .filter(({ offsetMinutes, instantMs }) => zone.offset(instantMs) === offsetMinutes)
    .map(({ instantMs }) => instantMs)
    .sort((first, second) => first - second);

  const earliest = instants[0];
  if (earliest !== undefined) return { kind: 'exists', instantMs: earliest };

  // In a gap, the time read with the offset from before the change is the moment the clocks
  // jumped to, which is the first instant after the skipped time.
  return { kind: 'skipped', firstInstantAfterMs: wallMs - offsetBeforeMinutes * MS_PER_MINUTE };
}

function reject(reason: string): AssignmentEndParseResult {
  return { ok: false, reason };
}
