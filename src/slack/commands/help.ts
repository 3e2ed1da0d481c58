import { USAGE, type PimSubcommand } from '../../domain/command.js';
import { praEverAssigned, readAccess } from '../../services/access.js';
import type { SlackDeps } from '../deps.js';
import type { CommandOrigin } from './activate.js';

const EVERYONE: PimSubcommand[] = ['activate', 'deactivate', 'cancel', 'status', 'requests', 'roles', 'help'];
const ADMINISTRATORS: PimSubcommand[] = ['assign', 'remove', 'settings', 'manager', 'setup'];

/**
 * Builds usage help listing only what the caller may do now. `/pim setup` is listed to others
 * only while it would make them the first administrator.
 */
export async function buildHelpText(deps: SlackDeps, userId: string, preface?: string): Promise<string> {
  const access = await readAccess(deps.context.db, userId, deps.context.clock.now());
  const canBootstrap = !access.isActivePra && !deps.context.adminsConfigured && !(await praEverAssigned(deps.context.db));
  let allowed = access.isActivePra ? [...EVERYONE, ...ADMINISTRATORS] : EVERYONE;
  if (canBootstrap) allowed = [...allowed, 'setup'];
  const lines = allowed.map((name) => `• \`${USAGE[name].usage}\`: ${USAGE[name].description}`);
  const parts = [preface, '*slack-pim: just-in-time privileged access*', ...lines].filter(
    (part): part is string => part !== undefined,
  );
  parts.push('Durations are written 30m, 2h, 1h30m or 90 minutes. Quote role names that contain spaces.');
  if (!access.isActivePra && access.isEligiblePra) {
    parts.push('You are eligible for Privileged Role Administrator: activate it to assign and remove roles.');
  }
  if (!access.isActivePra && access.isActiveSecurityAdmin) {
    parts.push('As a Security Administrator you see roles, assignments and activity on the Home tab, and change nothing but alerts.');
  }
  return parts.join('\n');
}

/** Handles `/pim` and `/pim help`. */
export async function handleHelpCommand(deps: SlackDeps, origin: CommandOrigin, preface?: string) {
  await origin.respond({ response_type: 'ephemeral', text: await buildHelpText(deps, origin.userId, preface) });
}
