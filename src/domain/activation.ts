import { formatDuration } from './duration.js';
import { isBlankReason } from './reason.js';
import {
  MAX_JUSTIFICATION_LENGTH,
  MAX_TICKET_NUMBER_LENGTH,
  MAX_TICKET_SYSTEM_LENGTH,
  MIN_ACTIVATION_MINUTES,
  type RoleSettings,
} from './role-settings.js';

/** Lifecycle of an activation. `active` and `pending_approval` are open; the rest are final. */
export type ActivationStatus =
  | 'pending_approval'
  | 'active'
  | 'expired'
  | 'deactivated'
  | 'denied'
  | 'cancelled'
  | 'timed_out'
  | 'failed';

/** The requested duration and justification, before the role's rules are applied. */
export interface ActivationInput {
  durationMinutes: number | undefined;
  justification: string | undefined;
  ticketSystem?: string | undefined;
  ticketNumber?: string | undefined;
}

/** One broken rule, pointing at the form field to fix. */
export interface ActivationProblem {
  field: 'duration' | 'justification' | 'ticket';
  code:
    | 'duration_invalid'
    | 'duration_too_long'
    | 'justification_missing'
    | 'justification_too_long'
    | 'ticket_missing'
    | 'ticket_invalid';
  message: string;
}

/** A request that passed the role's rules, with the justification trimmed (`null` when empty). */
export type ActivationCheck =
  | {
      ok: true;
      durationMinutes: number;
      justification: string | null;
      ticketSystem: string | null;
      ticketNumber: string | null;
    }
  | { ok: false; problems: ActivationProblem[] };

/** Checks a request against the role's settings and lists every broken rule. */
export function checkActivationRequest(
  roleName: string,
  settings: RoleSettings,
  input: ActivationInput,
): ActivationCheck {
  const problems: ActivationProblem[] = [];
  const minutes = input.durationMinutes;
  if (minutes === undefined) {
    problems.push({ field: 'duration', code: 'duration_invalid', message: 'Enter a duration, such as 2h or 90m.' });
  } else if (!Number.isInteger(minutes) || minutes < MIN_ACTIVATION_MINUTES) {
    problems.push({
      field: 'duration',
      code: 'duration_invalid',
      message: `A duration must be at least ${formatDuration(MIN_ACTIVATION_MINUTES)}.`,
    });
  } else if (minutes > settings.maxActivationMinutes) {
    problems.push({
      field: 'duration',
      code: 'duration_too_long',
      message: `${roleName} can be activated for at most ${formatDuration(settings.maxActivationMinutes)}; you asked for ${formatDuration(minutes)}.`,
    });
  }

  // A blank justification such as `""` counts as none: it is rejected where one is required
  // and stored as null where it is not.
  const justification = isBlankReason(input.justification) ? '' : (input.justification?.trim() ?? '');
  if (settings.requireJustification && justification === '') {
    problems.push({
      field: 'justification',
      code: 'justification_missing',
      message: `${roleName} requires a justification: say why you need it.`,
    });
  } else if (justification.length > MAX_JUSTIFICATION_LENGTH) {
    problems.push({
      field: 'justification',
      code: 'justification_too_long',
      message: `Keep the justification under ${MAX_JUSTIFICATION_LENGTH} characters (it has ${justification.length}).`,
    });
  }
  const ticketSystem = input.ticketSystem?.trim() ?? '';
  const ticketNumber = input.ticketNumber?.trim() ?? '';
  if (settings.requireTicket && (ticketSystem === '' || ticketNumber === '')) {
    problems.push({
      field: 'ticket',
      code: 'ticket_missing',
      message: `${roleName} requires a ticket: give the ticket system and number.`,
    });
  } else if (ticketSystem.length > MAX_TICKET_SYSTEM_LENGTH || ticketNumber.length > MAX_TICKET_NUMBER_LENGTH) {
    problems.push({
      field: 'ticket',
      code: 'ticket_invalid',
      message: `Keep the ticket system under ${MAX_TICKET_SYSTEM_LENGTH} and the number under ${MAX_TICKET_NUMBER_LENGTH} characters.`,
    });
  }

  if (problems.length > 0 || minutes === undefined) return { ok: false, problems };
  return {
    ok: true,
    durationMinutes: minutes,
    justification: justification === '' ? null : justification,
    ticketSystem: ticketSystem === '' ? null : ticketSystem,
    ticketNumber: ticketNumber === '' ? null : ticketNumber,
  };
}

/** The time span of an activation. */
export interface ActivationWindow {
  startsAt: Date;
  endsAt: Date;
  /** Length in minutes: as requested, or rounded up to a whole minute when cut short. */
  durationMinutes: number;
}

/**
 * Computes the window of an activation that starts at `now`. An activation never outlasts the
 * eligible assignment it comes from, so the window ends at `eligibleUntil` when that comes before
 * the requested duration is up.
 */
export function activationWindow(now: Date, durationMinutes: number, eligibleUntil: Date | null = null): ActivationWindow {
  const requestedEnd = new Date(now.getTime() + durationMinutes * 60_000);
  if (eligibleUntil === null || eligibleUntil.getTime() >= requestedEnd.getTime()) {
    return { startsAt: now, endsAt: requestedEnd, durationMinutes };
  }
  const shortenedMinutes = Math.max(1, Math.ceil((eligibleUntil.getTime() - now.getTime()) / 60_000));
  return { startsAt: now, endsAt: eligibleUntil, durationMinutes: shortenedMinutes };
}

/** Reports whether an activation ends when its eligible assignment ends, not after its duration. */
export function endsWithAssignment(activation: { endsAt: Date }, eligibleUntil: Date | null): boolean {
  return eligibleUntil !== null && activation.endsAt.getTime() === eligibleUntil.getTime();
}
