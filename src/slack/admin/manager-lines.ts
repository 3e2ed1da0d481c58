import { parseUserMention } from '../../domain/command.js';

/** A person named on one side of a `user,manager` line: by user ID or by e-mail address. */
export type PersonReference = { type: 'id'; userId: string } | { type: 'email'; email: string };

/** One pasted line, read or rejected. */
export type ManagerLine =
  | { ok: true; line: number; text: string; user: PersonReference; manager: PersonReference }
  | { ok: false; line: number; text: string; problem: string };

const USER_ID_PATTERN = /^[UW][A-Z0-9]{2,}$/;
// Deliberately loose: Slack's users.lookupByEmail decides whether the address exists.
const EMAIL_PATTERN = /^[^\s@,<>]+@[^\s@,<>]+\.[^\s@,<>]+$/;

/** Reads pasted `user,manager` lines, skipping blank ones; each side is a mention, a user ID or an e-mail address. */
export function parseManagerLines(text: string): ManagerLine[] {
  const result: ManagerLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '') return;
    const parts = trimmed.split(/[,;\t]/).map((part) => part.trim());
    if (parts.length !== 2) {
      result.push({ ok: false, line, text: trimmed, problem: 'expected two people separated by a comma' });
      return;
    }
    const [userText = '', managerText = ''] = parts;
    const user = readPerson(userText);
    const manager = readPerson(managerText);
    if (user === undefined || manager === undefined) {
      const bad = user === undefined ? userText : managerText;
      result.push({ ok: false, line, text: trimmed, problem: `"${bad}" is not a mention, a user ID or an e-mail address` });
      return;
    }
    result.push({ ok: true, line, text: trimmed, user, manager });
  });
  return result;
}

function readPerson(text: string): PersonReference | undefined {
  const mentioned = parseUserMention(text);
  if (mentioned !== undefined) return { type: 'id', userId: mentioned };
  const bare = text.replace(/^@/, '');
  if (USER_ID_PATTERN.test(bare)) return { type: 'id', userId: bare };
  if (EMAIL_PATTERN.test(text)) return { type: 'email', email: text.toLowerCase() };
  return undefined;
}
