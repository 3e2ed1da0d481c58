/**
 * Turns what a member typed after a slash command into the text Slack sends with `should_escape`
 * on: `&`, `<` and `>` as entities, `@name` as `<@U123|name>`, `#channel` as `<#C123|channel>`
 * and `@group` as `<!subteam^S123|@group>`.
 */
import type { Workspace } from './workspace.js';

// A handle as Slack allows it: letters, digits, dots, dashes and underscores.
const MENTION_PATTERN = /(^|\s)([@#])([a-z0-9._-]+)/gi;

/** Escapes and links mentions in command text the way Slack does before sending it. */
export function escapeCommandText(text: string, workspace: Workspace): string {
  const escaped = text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return escaped.replace(MENTION_PATTERN, (whole, space: string, sigil: string, handle: string) => {
    const lower = handle.toLowerCase();
    if (sigil === '#') {
      const channel = workspace.listChannels().find((candidate) => candidate.name.toLowerCase() === lower);
      return channel === undefined ? whole : `${space}<#${channel.id}|${channel.name}>`;
    }
    const user = workspace.listUsers().find((candidate) => (candidate.name ?? candidate.id.toLowerCase()) === lower);
    if (user !== undefined) {
      return `${space}<@${user.id}|${user.name ?? user.id.toLowerCase()}>`;
    }
    const group = workspace.listUserGroups().find((candidate) => candidate.handle.toLowerCase() === lower);
    return group === undefined ? whole : `${space}<!subteam^${group.id}|@${group.handle}>`;
  });
}
