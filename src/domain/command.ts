import { ASSIGNMENT_END_EXAMPLES } from './dates.js';
import { parseDuration } from './duration.js';
import { isBlankReason, QUOTE_CHARACTERS } from './reason.js';

/** Subcommands of `/pim` that parsePimCommand recognizes. */
export type PimSubcommand =
  | 'help'
  | 'activate'
  | 'deactivate'
  | 'status'
  | 'roles'
  | 'assign'
  | 'remove'
  | 'requests'
  | 'cancel'
  | 'settings'
  | 'manager'
  | 'setup';

/** Usage line and one-line description of each subcommand, in the order help lists them. */
export const USAGE: Readonly<Record<PimSubcommand, { usage: string; description: string }>> = {
  help: {
    usage: '/pim help',
    description: 'Show the commands you can use.',
  },
  activate: {
    usage: '/pim activate [role] [duration] [reason …]',
    description: 'Activate a role you are eligible for. A form opens for anything left out.',
  },
  deactivate: {
    usage: '/pim deactivate [role]',
    description: 'End one of your active roles early.',
  },
  status: {
    usage: '/pim status',
    description: 'Show your eligible and active roles and your pending requests.',
  },
  roles: {
    usage: '/pim roles',
    description: 'List the roles with their numbers of eligible, active and permanent holders.',
  },
  assign: {
    usage: '/pim assign @user role [eligible|active] [until DATE] [reason …]',
    description:
      'Make someone eligible for a role, or give it to them now. DATE is YYYY-MM-DD or YYYY-MM-DDTHH:MM in your time zone.',
  },
  remove: {
    usage: '/pim remove @user role [reason …]',
    description: "Remove someone's assignment to a role.",
  },
  requests: {
    usage: '/pim requests',
    description: 'List the requests waiting for your approval, with Approve and Deny buttons.',
  },
  cancel: {
    usage: '/pim cancel [role]',
    description: 'Cancel your pending request for a role.',
  },
  settings: {
    usage: '/pim settings role',
    description: "Open a role's settings: maximum duration, justification, ticket, approval and notifications.",
  },
  manager: {
    usage: '/pim manager [@user @manager]',
    description: "Record someone's manager, who reviews their access. Without arguments, a form imports many at once.",
  },
  setup: {
    usage: '/pim setup',
    description:
      'Open the security wizard, which turns permanent active assignments into eligible ones. While slack-pim has never had an administrator, it makes you the first one.',
  },
};

export type AssignmentKind = 'eligible' | 'active';

/**
 * A parsed `/pim` command. Text values (role, reason, until) have Slack's `&amp;`, `&lt;` and
 * `&gt;` decoded, so they read as typed. Escape them again before putting them into mrkdwn.
 */
export type PimCommand =
  | { name: 'help' }
  | {
      name: 'activate';
      role?: string;
      durationText?: string;
      durationMinutes?: number;
      reason?: string;
    }
  | { name: 'deactivate'; role?: string }
  | { name: 'cancel'; role?: string }
  | { name: 'requests' }
  | { name: 'settings'; role: string }
  | { name: 'status' }
  | { name: 'roles' }
  | {
      name: 'assign';
      userId: string;
      role: string;
      kind: AssignmentKind;
      until?: string;
      reason?: string;
    }
  | { name: 'remove'; userId: string; role: string; reason?: string }
  | { name: 'manager'; userId?: string; managerId?: string }
  | { name: 'setup' }
  | { name: 'invalid'; subcommand: PimSubcommand; message: string }
  | { name: 'unknown'; word: string };

/** One word of command text, or one quoted segment. */
export interface CommandToken {
  /** The text without its quotes, still escaped as Slack sent it. */
  value: string;
  /** Whether any part of the token was quoted. */
  quoted: boolean;
  /** Offset of the token's first character in the command text, in UTF-16 code units. */
  start: number;
  /** Offset just past the token's last character, closing quote included. */
  end: number;
}

export type TokenizeResult = { ok: true; tokens: CommandToken[] } | { ok: false; reason: string };

// With `should_escape` on, Slack sends a mention as <@U123|name> or <@U123>. Enterprise Grid
// user IDs start with W.
const USER_MENTION_PATTERN = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/;

// Maximum number of tokens in a duration, as in "1 hour 30 minutes".
const MAX_DURATION_TOKENS = 4;

const KIND_WORDS = new Set<string>(['eligible', 'active']);
const UNTIL_WORD = 'until';
const EXCERPT_LENGTH = 30;

type ActivateCommand = Extract<PimCommand, { name: 'activate' }>;
type AssignCommand = Extract<PimCommand, { name: 'assign' }>;
type RemoveCommand = Extract<PimCommand, { name: 'remove' }>;

type ScanResult = { ok: true; token: CommandToken | undefined } | { ok: false; reason: string };

/**
 * Splits command text on whitespace. A segment in straight or curly double quotes stays one
 * token, without its quotes. An unclosed quote is an error.
 */
export function tokenize(text: string): TokenizeResult {
  const tokens: CommandToken[] = [];
  let offset = 0;
  for (;;) {
    const scanned = scanToken(text, offset);
    if (!scanned.ok) return scanned;
    if (scanned.token === undefined) return { ok: true, tokens };
    tokens.push(scanned.token);
    offset = scanned.token.end;
  }
}

/** Returns the user ID of a Slack user mention such as `<@U123|name>`, else undefined. */
export function parseUserMention(token: string): string | undefined {
  return USER_MENTION_PATTERN.exec(token.trim())?.[1];
}

/**
 * Parses the text after `/pim`. Subcommand words are case-insensitive. Free text at the end
 * (the reason) is taken from the raw text as typed rather than re-joined from tokens, so its
 * spacing and quotes survive.
 */
export function parsePimCommand(text: string): PimCommand {
  const first = scanToken(text, 0);
  if (!first.ok) return { name: 'unknown', word: text.trim() };
  if (first.token === undefined) return { name: 'help' };

  const rest = first.token.end;
  switch (first.token.value.toLowerCase()) {
    case 'help':
      return { name: 'help' };
    case 'activate':
      return parseActivate(text, rest);
    case 'deactivate':
      return parseDeactivate(text, rest);
    case 'status':
      return { name: 'status' };
    case 'roles':
      return { name: 'roles' };
    case 'assign':
      return parseAssign(text, rest);
    case 'remove':
      return parseRemove(text, rest);
    case 'requests':
      return { name: 'requests' };
    case 'cancel': {
      // Same shape as `deactivate [role]`: an optional role and nothing else.
      const parsed = parseDeactivate(text, rest);
      if (parsed.name === 'invalid') return invalid('cancel', parsed.message);
      if (parsed.name !== 'deactivate') return parsed;
      return parsed.role === undefined ? { name: 'cancel' } : { name: 'cancel', role: parsed.role };
    }
    case 'setup':
      return text.slice(rest).trim() === '' ? { name: 'setup' } : invalid('setup', '`/pim setup` takes no arguments.');
    case 'manager':
      return parseManager(text, rest);
    case 'settings': {
      const parsed = parseDeactivate(text, rest);
      if (parsed.name === 'invalid') return invalid('settings', parsed.message);
      if (parsed.name !== 'deactivate') return parsed;
      if (parsed.role === undefined) return invalid('settings', 'Name the role whose settings you want to change.');
      return { name: 'settings', role: parsed.role };
    }
    default:
      return { name: 'unknown', word: first.token.value };
  }
}

/** `activate [role] [duration] [reason …]`. */
function parseActivate(text: string, offset: number): PimCommand {
  const roleScan = scanToken(text, offset);
  if (!roleScan.ok) return invalid('activate', roleScan.reason);
  const roleToken = roleScan.token;
  if (roleToken === undefined) return { name: 'activate' };
  const role = decodeSlackEscapes(roleToken.value);

  const durationTokens = scanDurationTokens(text, roleToken.end);
  const firstDurationToken = durationTokens[0];
  if (firstDurationToken === undefined) {
    const trailing = scanToken(text, roleToken.end);
    return trailing.ok ? { name: 'activate', role } : invalid('activate', trailing.reason);
  }

  const duration = readLongestDuration(text, durationTokens);
  if (duration === undefined) {
    const parsed = parseDuration(firstDurationToken.value);
    const reason = parsed.ok ? '' : parsed.reason;
    // A word where the duration belongs is most often the second word of an unquoted name.
    const hint =
      roleToken.quoted || !/^\p{L}/u.test(firstDurationToken.value)
        ? ''
        : ` If the role name contains spaces, put it in quotes: /pim activate "${role} ${firstDurationToken.value}" 2h.`;
    return invalid('activate', reason + hint);
  }

  const command: ActivateCommand = {
    name: 'activate',
    role,
    durationText: duration.text,
    durationMinutes: duration.minutes,
  };
  const reason = remainder(text, duration.end);
  if (reason !== undefined) command.reason = reason;
  return command;
}

/**
 * `deactivate [role]`. The role is all that can follow, so an unquoted name with spaces is
 * read whole. Once quotes appear, the first token is the role.
 */
function parseDeactivate(text: string, offset: number): PimCommand {
  const rawRole = text.slice(offset).trim();
  if (rawRole.length === 0) return { name: 'deactivate' };

  if (![...rawRole].some((character) => QUOTE_CHARACTERS.has(character))) {
    return { name: 'deactivate', role: decodeSlackEscapes(rawRole.split(/\s+/).join(' ')) };
  }
  const scanned = scanToken(text, offset);
  if (!scanned.ok) return invalid('deactivate', scanned.reason);
  if (scanned.token === undefined) return { name: 'deactivate' };
  return { name: 'deactivate', role: decodeSlackEscapes(scanned.token.value) };
}

/** `assign @user role [eligible|active] [until DATE] [reason …]`, with the options in either order. */
function parseAssign(text: string, offset: number): PimCommand {
  const target = parseUserAndRole(text, offset, 'assign');
  if (!target.ok) return target.command;

  let kind: AssignmentKind | undefined;
  let until: string | undefined;
  let position = target.end;

  // At most one kind word and one `until DATE`, so two rounds read both.
  for (let round = 0; round < 2; round += 1) {
    const scanned = scanToken(text, position);
    if (!scanned.ok || scanned.token === undefined || scanned.token.quoted) break;
    const word = scanned.token.value.toLowerCase();

    if (kind === undefined && KIND_WORDS.has(word)) {
      kind = word === 'active' ? 'active' : 'eligible';
      position = scanned.token.end;
    } else if (until === undefined && word === UNTIL_WORD) {
      const dateScan = scanToken(text, scanned.token.end);
      if (!dateScan.ok || dateScan.token === undefined) {
        return invalid('assign', `"until" needs a date after it, like ${ASSIGNMENT_END_EXAMPLES}.`);
      }
      until = decodeSlackEscapes(dateScan.token.value);
      position = dateScan.token.end;
    } else {
      break;
    }
  }

  const command: AssignCommand = {
    name: 'assign',
    userId: target.userId,
    role: target.role,
    kind: kind ?? 'eligible',
  };
  if (until !== undefined) command.until = until;
  const reason = remainder(text, position);
  if (reason !== undefined) command.reason = reason;
  return command;
}

/** `remove @user role [reason …]`. */
function parseRemove(text: string, offset: number): PimCommand {
  const target = parseUserAndRole(text, offset, 'remove');
  if (!target.ok) return target.command;

  const command: RemoveCommand = { name: 'remove', userId: target.userId, role: target.role };
  const reason = remainder(text, target.end);
  if (reason !== undefined) command.reason = reason;
  return command;
}

/** `manager [@user @manager]`: both mentions, or neither to open the import form. */
function parseManager(text: string, offset: number): PimCommand {
  const tokens = tokenize(text.slice(offset));
  if (!tokens.ok) return invalid('manager', tokens.reason);
  if (tokens.tokens.length === 0) return { name: 'manager' };
  const [userToken, managerToken, extra] = tokens.tokens;
  const userId = userToken === undefined ? undefined : parseUserMention(userToken.value);
  const managerId = managerToken === undefined ? undefined : parseUserMention(managerToken.value);
  if (userId === undefined || managerId === undefined || extra !== undefined) {
    return invalid('manager', 'Mention two people: the user, then their manager. Type @ and pick each from the list.');
  }
  if (userId === managerId) return invalid('manager', 'Someone cannot be their own manager.');
  return { name: 'manager', userId, managerId };
}

type UserAndRole =
  | { ok: true; userId: string; role: string; end: number }
  | { ok: false; command: PimCommand };

/** Reads the `@user role` pair that `assign` and `remove` start with. */
function parseUserAndRole(
  text: string,
  offset: number,
  subcommand: 'assign' | 'remove',
): UserAndRole {
  const userScan = scanToken(text, offset);
  if (!userScan.ok) return { ok: false, command: invalid(subcommand, userScan.reason) };
  if (userScan.token === undefined) {
    return { ok: false, command: invalid(subcommand, 'The user and the role are missing.') };
  }

  const userId = parseUserMention(userScan.token.value);
  if (userId === undefined) {
    const problem =
      `"${excerpt(decodeSlackEscapes(userScan.token.value))}" is not a mention of a Slack user. ` +
      'Type @ and pick the person from the list.';
    return { ok: false, command: invalid(subcommand, problem) };
  }

  const roleScan = scanToken(text, userScan.token.end);
  if (!roleScan.ok) return { ok: false, command: invalid(subcommand, roleScan.reason) };
  if (roleScan.token === undefined) {
    return { ok: false, command: invalid(subcommand, 'The role is missing.') };
  }

  const role = decodeSlackEscapes(roleScan.token.value);
  return { ok: true, userId, role, end: roleScan.token.end };
}

/**
 * Reads up to MAX_DURATION_TOKENS unquoted tokens that may together form a duration. Stops at
 * a quoted token or an unclosed quote, because those belong to the reason.
 */
function scanDurationTokens(text: string, offset: number): CommandToken[] {
  const tokens: CommandToken[] = [];
  let position = offset;
  while (tokens.length < MAX_DURATION_TOKENS) {
    const scanned = scanToken(text, position);
    if (!scanned.ok || scanned.token === undefined) break;
    if (scanned.token.quoted && tokens.length > 0) break;
    tokens.push(scanned.token);
    if (scanned.token.quoted) break;
    position = scanned.token.end;
  }
  return tokens;
}

/**
 * Picks the longest run of leading tokens that parses as a duration, so `2 hours fixing db`
 * reads as 120 minutes with the reason "fixing db" rather than 2 minutes with the reason
 * "hours fixing db".
 */
function readLongestDuration(
  text: string,
  tokens: readonly CommandToken[],
): { text: string; minutes: number; end: number } | undefined {
  const first = tokens[0];
  if (first === undefined) return undefined;

  for (let count = tokens.length; count >= 1; count -= 1) {
    const last = tokens[count - 1];
    if (last === undefined) continue;
    const candidate = count === 1 ? first.value : text.slice(first.start, last.end);
    const parsed = parseDuration(candidate);
    if (parsed.ok) return { text: candidate, minutes: parsed.minutes, end: last.end };
  }
  return undefined;
}

/** Scans the token that starts at or after `offset`. The token is undefined at the end of text. */
function scanToken(text: string, offset: number): ScanResult {
  let position = offset;
  while (position < text.length && isWhitespace(text.charAt(position))) position += 1;
  if (position >= text.length) return { ok: true, token: undefined };

  const start = position;
  let value = '';
  let quoted = false;
  while (position < text.length && !isWhitespace(text.charAt(position))) {
    const character = text.charAt(position);

    // Slack escapes a typed "<" as "&lt;", so a raw "<" opens one of its own sequences such
    // as <@U123|name>. The sequence stays whole even if the name after "|" has spaces.
    const sequenceEnd = character === '<' ? text.indexOf('>', position) : -1;
    if (sequenceEnd !== -1) {
      value += text.slice(position, sequenceEnd + 1);
      position = sequenceEnd + 1;
      continue;
    }

    if (!QUOTE_CHARACTERS.has(character)) {
      value += character;
      position += 1;
      continue;
    }

    const closing = findQuote(text, position + 1);
    if (closing === undefined) {
      return {
        ok: false,
        reason: `The quote in "${excerpt(text.slice(position))}" is not closed. Add the closing quote.`,
      };
    }
    value += text.slice(position + 1, closing);
    quoted = true;
    position = closing + 1;
  }
  return { ok: true, token: { value, quoted, start, end: position } };
}

function findQuote(text: string, from: number): number | undefined {
  for (let position = from; position < text.length; position += 1) {
    if (QUOTE_CHARACTERS.has(text.charAt(position))) return position;
  }
  return undefined;
}

function isWhitespace(character: string): boolean {
  return /\s/.test(character);
}

/**
 * Returns the raw text after `offset`, trimmed and decoded, or undefined when none is left.
 * A blank reason (see isBlankReason), such as `""`, counts as none, so a role that requires a
 * reason still opens the form to ask for one.
 */
function remainder(text: string, offset: number): string | undefined {
  const rest = text.slice(offset).trim();
  return isBlankReason(rest) ? undefined : decodeSlackEscapes(rest);
}

// Slack escapes only &, < and > in the text it sends, as &amp;, &lt; and &gt;. &amp; is decoded
// last so that a typed "&lt;" (sent as "&amp;lt;") stays "&lt;".
function decodeSlackEscapes(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

function excerpt(text: string): string {
  return text.length <= EXCERPT_LENGTH ? text : `${text.slice(0, EXCERPT_LENGTH)}…`;
}

function invalid(subcommand: PimSubcommand, message: string): PimCommand {
  return { name: 'invalid', subcommand, message };
}
