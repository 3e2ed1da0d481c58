import type { View } from '@slack/types';
import { UserError } from '../../errors.js';
import { requireActivePra } from '../../services/access.js';
import { setManagers, type ManagerPair } from '../../services/directory.js';
import type { SlackDeps } from '../deps.js';
import { findUserIdByEmail, lookUpUser } from '../users.js';
import { buildManagersReport } from './forms.js';
import { parseManagerLines, type PersonReference } from './manager-lines.js';

/** Maximum lines one import reads, so the Slack lookups of one submission stay few. */
export const MAX_MANAGER_LINES = 100;

/** Result of an import: how many managers were recorded, the failed lines, and the report to show. */
export interface ManagerImport {
  recorded: number;
  failures: { line: number; text: string; problem: string }[];
  view: View;
}

/**
 * Resolves pasted `user,manager` lines against Slack (e-mail addresses with
 * `users.lookupByEmail`, every user with `users.info`) and records the lines that resolved.
 * A deactivated or unknown person fails that line only.
 */
export async function importManagers(deps: SlackDeps, actorId: string, text: string): Promise<ManagerImport> {
  await requireActivePra(deps.context.db, actorId, deps.context.clock.now(), 'record managers');
  const lines = parseManagerLines(text);
  if (lines.length === 0) throw new UserError('usage', 'Paste at least one "user,manager" line.');
  if (lines.length > MAX_MANAGER_LINES) {
    throw new UserError('usage', `Paste at most ${MAX_MANAGER_LINES} lines at a time; this has ${lines.length}.`);
  }
  const failures: ManagerImport['failures'] = [];
  const pairs: ManagerPair[] = [];
  for (const line of lines) {
    if (!line.ok) {
      failures.push({ line: line.line, text: line.text, problem: line.problem });
      continue;
    }
    const user = await resolvePerson(deps, line.user);
    const manager = await resolvePerson(deps, line.manager);
    if (!user.ok) {
      failures.push({ line: line.line, text: line.text, problem: user.problem });
    } else if (!manager.ok) {
      failures.push({ line: line.line, text: line.text, problem: manager.problem });
    } else if (user.userId === manager.userId) {
      failures.push({ line: line.line, text: line.text, problem: 'a person cannot be their own manager' });
    } else {
      pairs.push({ userId: user.userId, managerId: manager.userId });
    }
  }
  const { changed } = pairs.length === 0 ? { changed: 0 } : await setManagers(deps.context, { actorId, pairs });
  return { recorded: changed, failures, view: buildManagersReport(changed, failures) };
}

async function resolvePerson(
  deps: SlackDeps,
  person: PersonReference,
): Promise<{ ok: true; userId: string } | { ok: false; problem: string }> {
  let userId: string;
  if (person.type === 'email') {
    const found = await findUserIdByEmail(deps.client, person.email);
    if (found === undefined) return { ok: false, problem: `Slack has no user with the e-mail address ${person.email}` };
    userId = found;
  } else {
    userId = person.userId;
  }
  const lookup = await lookUpUser(deps, userId);
  if (lookup.found) return { ok: true, userId };
  return { ok: false, problem: lookup.problem === 'deactivated' ? `<@${userId}> is deactivated in Slack` : `Slack has no user ${userId}` };
}
