/** How long before a time-bound assignment ends its holder is told, earliest first. */
export const END_NOTICE_LEAD_DAYS = [14, 1] as const;

const DAY_MS = 24 * 60 * 60_000;

/**
 * Counts the end notices that are already due when an assignment gets its end date, so a
 * new assignment ending in 5 days skips the 14-day notice instead of sending it at once: the
 * holder was just told the end date with the assignment itself.
 */
export function endNoticesAlreadyDue(endsAt: Date | null, now: Date): number {
  if (endsAt === null) return END_NOTICE_LEAD_DAYS.length;
  return END_NOTICE_LEAD_DAYS.filter((days) => endsAt.getTime() - days * DAY_MS <= now.getTime()).length;
}

/** Returns when the next end notice is due after `sent` notices, or `null` when none is left. */
export function nextEndNoticeAt(endsAt: Date, sent: number): Date | null {
  const days = END_NOTICE_LEAD_DAYS[sent];
  return days === undefined ? null : new Date(endsAt.getTime() - days * DAY_MS);
}

/** Returns the lead time in days of notice number `sent` (0-based), or `undefined` past the last. */
export function endNoticeLeadDays(sent: number): number | undefined {
  return END_NOTICE_LEAD_DAYS[sent];
}
