/** Source of the current time. Passed in everywhere so time rules are tested without sleeping. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = {
  now: () => new Date(),
};
