/** Delay before approvers get their first reminder; each later reminder waits twice as long. */
export const FIRST_REMINDER_MINUTES = 15;

/** Origin of an approver: named on the role, a member of a named user group, or a PRA. */
export type ApproverSource = 'user' | 'group' | 'pra';

/** One approver of a request and why they may decide it. */
export interface Approver {
  userId: string;
  source: ApproverSource;
}

/**
 * Returns when the reminder after `remindersSent` reminders is due: 15 minutes after the
 * request, then 30 minutes after that, then 60, doubling each time. Returns `null` when that
 * moment is not before the request times out, because the timeout notice comes instead.
 */
export function nextReminderAt(requestedAt: Date, remindersSent: number, expiresAt: Date): Date | null {
  const elapsedMinutes = FIRST_REMINDER_MINUTES * (2 ** (remindersSent + 1) - 1);
  const due = new Date(requestedAt.getTime() + elapsedMinutes * 60_000);
  return due.getTime() < expiresAt.getTime() ? due : null;
}

/**
 * Decides who approves a request: the role's named users and its user groups' members, or,
 * when the role names nobody, the active Privileged Role Administrators. The requester never
 * approves their own request. Each person appears once, with the first source that names them.
 */
export function selectApprovers(input: {
  requesterId: string;
  namedUsers: readonly string[];
  groupMembers: readonly string[];
  activePras: readonly string[];
}): Approver[] {
  const named = input.namedUsers.length > 0 || input.groupMembers.length > 0;
  const candidates: Approver[] = named
    ? [
        ...input.namedUsers.map((userId) => ({ userId, source: 'user' as const })),
        ...input.groupMembers.map((userId) => ({ userId, source: 'group' as const })),
      ]
    : input.activePras.map((userId) => ({ userId, source: 'pra' as const }));
  const seen = new Set<string>([input.requesterId]);
  const approvers: Approver[] = [];
  for (const candidate of candidates) {
    if (seen.has(candidate.userId)) continue;
    seen.add(candidate.userId);
    approvers.push(candidate);
  }
  return approvers;
}
