import type { KnownBlock } from '@slack/types';

// Limits from Slack's Block Kit reference: https://docs.slack.dev/reference/block-kit/blocks
/** Characters in a section's text or a context element. */
export const SECTION_TEXT_LIMIT = 3_000;
/** Characters in a header block's text. */
export const HEADER_TEXT_LIMIT = 150;
/** Characters in a modal's title. https://docs.slack.dev/reference/views/modal-views */
export const MODAL_TITLE_LIMIT = 24;
/** Characters in an option's text, and options in a static select. */
export const OPTION_TEXT_LIMIT = 75;
export const STATIC_SELECT_OPTION_LIMIT = 100;
/** Blocks in a message; modals and Home tabs allow 100. */
export const MESSAGE_BLOCK_LIMIT = 50;
export const VIEW_BLOCK_LIMIT = 100;

/** Shortens `text` to `limit` characters, marking the cut with an ellipsis. The one place text is cut. */
export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit - 1)}…`;
}

/**
 * Escapes text typed by people before it goes into mrkdwn, so `<!channel>`, fake links or
 * mentions in a justification show as text instead of pinging or linking.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Mentions a user; Slack renders it as their current display name. */
export function mention(userId: string): string {
  return `<@${userId}>`;
}

/** Builds a section of mrkdwn text. */
export function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_TEXT_LIMIT) } };
}

/** Builds a header block. */
export function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: truncate(text, HEADER_TEXT_LIMIT), emoji: true } };
}

/** Builds a context line of small mrkdwn text. */
export function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, SECTION_TEXT_LIMIT) }] };
}

/** Builds a section with two-column fields. */
export function fields(entries: [string, string][]): KnownBlock {
  return {
    type: 'section',
    fields: entries.slice(0, 10).map(([label, value]) => ({
      type: 'mrkdwn' as const,
      // Slack caps each field at 2,000 characters.
      text: truncate(`*${label}*\n${value}`, 2_000),
    })),
  };
}
