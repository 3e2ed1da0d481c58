// Renders Slack mrkdwn into DOM nodes, never through innerHTML, so text from the app cannot
// inject markup. Covers what Slack renders in messages and views: *bold*, _italic_, ~strike~,
// `code`, ```preformatted```, > quotes, :emoji:, links, user, channel and user group mentions,
// @here/@channel/@everyone, and <!date^…> tokens shown in the browser's time zone.
import { EMOJI } from './emoji.js';

// Sequences in angle brackets are Slack's own: a typed "<" arrives escaped as "&lt;".
const ANGLE_TOKEN = /<([^<>]+)>/g;
// Marks a token's place in the text with a private-use character, so formatting such as *bold*
// may span a link or mention.
const PLACEHOLDER_BASE = 0xe000;
const PLACEHOLDER = /[\ue000-\uf8ff]/;
const FORMATS = [
  { pattern: /```([\s\S]+?)```/, make: (inner) => element('pre', 'mrkdwn-pre', inner, false) },
  { pattern: /`([^`\n]+)`/, make: (inner) => element('code', 'mrkdwn-code', inner, false) },
  { pattern: /(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])/, make: (inner) => element('strong', '', inner, true) },
  { pattern: /(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])/, make: (inner) => element('em', '', inner, true) },
  { pattern: /(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])/, make: (inner) => element('s', '', inner, true) },
];
const EMOJI_PATTERN = /:([a-z0-9_+-]+):/g;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAY_MS = 24 * 60 * 60 * 1000;

let tokens = [];
let directory = { people: [], channels: [], groups: [] };

/** Sets the people, channels and groups that mentions resolve against. */
export function setDirectory(next) {
  directory = next;
}

/** Renders mrkdwn text as a fragment. */
export function renderMrkdwn(text) {
  tokens = [];
  const marked = String(text).replace(ANGLE_TOKEN, (_whole, inner) => {
    tokens.push(inner);
    return String.fromCharCode(PLACEHOLDER_BASE + tokens.length - 1);
  });
  const fragment = document.createDocumentFragment();
  for (const part of splitQuotes(marked)) {
    if (part.quote) {
      const quote = document.createElement('blockquote');
      quote.className = 'mrkdwn-quote';
      appendFormatted(quote, part.text);
      fragment.append(quote);
    } else {
      appendFormatted(fragment, part.text);
    }
  }
  return fragment;
}

/** Renders plain_text: entities decoded, and :emoji: shown when `emoji` is not false. */
export function renderPlainText(textObject) {
  const fragment = document.createDocumentFragment();
  const text = textObject?.text ?? '';
  if (textObject?.emoji === false) fragment.append(text);
  else appendWithEmoji(fragment, text);
  return fragment;
}

/** Renders a text object, mrkdwn or plain_text. */
export function renderTextObject(textObject) {
  if (!textObject) return document.createDocumentFragment();
  return textObject.type === 'mrkdwn' ? renderMrkdwn(textObject.text ?? '') : renderPlainText(textObject);
}

/** Formats an epoch time with one of Slack's date tokens, in the browser's time zone. */
export function formatSlackDate(epochSeconds, format, now = new Date()) {
  const date = new Date(epochSeconds * 1000);
  return format.replace(/\{(\w+)\}/g, (whole, token) => {
    switch (token) {
      case 'date_num':
        return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
      case 'date':
        return longDate(date);
      case 'date_short':
        return shortDate(date);
      case 'date_long':
        return `${date.toLocaleDateString('en-US', { weekday: 'long' })}, ${longDate(date)}`;
      case 'date_pretty':
        return relativeDay(date, now) ?? longDate(date);
      case 'date_short_pretty':
        return relativeDay(date, now) ?? shortDate(date);
      case 'date_long_pretty':
        return relativeDay(date, now) ?? `${date.toLocaleDateString('en-US', { weekday: 'long' })}, ${longDate(date)}`;
      case 'time':
        return date.toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' });
      case 'time_secs':
        return date.toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit', second: '2-digit' });
      case 'ago':
        return ago(date, now);
      default:
        return whole;
    }
  });
}

function splitQuotes(text) {
  const parts = [];
  for (const line of text.split('\n')) {
    const quoted = /^&gt;\s?/.exec(line);
    const last = parts.at(-1);
    const piece = quoted ? line.slice(quoted[0].length) : line;
    if (last && last.quote === Boolean(quoted)) last.text += `\n${piece}`;
    else parts.push({ quote: Boolean(quoted), text: piece });
  }
  return parts;
}

function appendFormatted(parent, text) {
  let rest = text;
  while (rest !== '') {
    let best;
    for (const format of FORMATS) {
      const match = format.pattern.exec(rest);
      if (match && (best === undefined || match.index < best.match.index)) best = { match, format };
    }
    if (best === undefined) {
      appendText(parent, rest);
      return;
    }
    appendText(parent, rest.slice(0, best.match.index));
    parent.append(best.format.make(best.match[1]));
    rest = rest.slice(best.match.index + best.match[0].length);
  }
}

function element(tag, className, inner, formatted) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (formatted) appendFormatted(node, inner);
  else appendText(node, inner, false);
  return node;
}

// Appends text with its placeholders turned back into tokens, line breaks and emoji.
function appendText(parent, text, withEmoji = true) {
  const pieces = text.split(/([\ue000-\uf8ff]|\n)/);
  for (const piece of pieces) {
    if (piece === '') continue;
    if (piece === '\n') parent.append(document.createElement('br'));
    else if (PLACEHOLDER.test(piece) && piece.length === 1) parent.append(renderToken(tokens[piece.charCodeAt(0) - PLACEHOLDER_BASE] ?? ''));
    else if (withEmoji) appendWithEmoji(parent, decodeEntities(piece));
    else parent.append(decodeEntities(piece));
  }
}

function appendWithEmoji(parent, text) {
  let last = 0;
  for (const match of text.matchAll(EMOJI_PATTERN)) {
    const glyph = EMOJI[match[1]];
    if (glyph === undefined) continue;
    parent.append(text.slice(last, match.index));
    const span = document.createElement('span');
    span.className = 'emoji';
    span.title = match[0];
    span.textContent = glyph;
    parent.append(span);
    last = match.index + match[0].length;
  }
  parent.append(text.slice(last));
}

function renderToken(inner) {
  const [target, label] = splitLabel(inner);
  if (target.startsWith('@')) {
    const person = directory.people.find((candidate) => candidate.id === target.slice(1));
    return mention(`@${person?.realName ?? label ?? target.slice(1)}`, 'mention-user', person?.title);
  }
  if (target.startsWith('#')) {
    const channel = directory.channels.find((candidate) => candidate.id === target.slice(1));
    return mention(`#${channel?.name ?? label ?? target.slice(1)}`, 'mention-channel');
  }
  if (target.startsWith('!subteam^')) {
    const group = directory.groups.find((candidate) => candidate.id === target.slice('!subteam^'.length));
    return mention(group ? `@${group.handle}` : (label ?? target), 'mention-group', group?.name);
  }
  if (target.startsWith('!date^')) return renderDate(target, label);
  if (['!here', '!channel', '!everyone'].includes(target)) return mention(`@${target.slice(1)}`, 'mention-special');
  if (target.startsWith('!')) return document.createTextNode(label ?? target);
  const link = document.createElement('a');
  link.href = decodeEntities(target);
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  link.textContent = decodeEntities(label ?? target.replace(/^mailto:/, ''));
  return link;
}

// <!date^EPOCH^FORMAT^LINK|fallback>; the link is optional.
function renderDate(target, fallback) {
  const [, epoch, format = '{date_short}', link] = target.split('^');
  const seconds = Number(epoch);
  const text = Number.isFinite(seconds) ? formatSlackDate(seconds, format) : decodeEntities(fallback ?? target);
  const node = document.createElement(link ? 'a' : 'time');
  node.className = 'slack-date';
  node.textContent = text;
  if (Number.isFinite(seconds)) {
    node.title = new Date(seconds * 1000).toString();
    node.dataset.epoch = String(seconds);
    if (!link) node.dateTime = new Date(seconds * 1000).toISOString();
  }
  if (link) {
    node.href = decodeEntities(link);
    node.target = '_blank';
    node.rel = 'noopener noreferrer';
  }
  return node;
}

function mention(text, className, title) {
  const span = document.createElement('span');
  span.className = `mention ${className}`;
  span.textContent = text;
  if (title) span.title = title;
  return span;
}

function splitLabel(inner) {
  const bar = inner.indexOf('|');
  return bar < 0 ? [inner, undefined] : [inner.slice(0, bar), inner.slice(bar + 1)];
}

function decodeEntities(text) {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

function pad(value) {
  return String(value).padStart(2, '0');
}

function ordinal(day) {
  const tens = day % 100;
  if (tens >= 11 && tens <= 13) return `${day}th`;
  return `${day}${{ 1: 'st', 2: 'nd', 3: 'rd' }[day % 10] ?? 'th'}`;
}

function longDate(date) {
  return `${MONTHS[date.getMonth()]} ${ordinal(date.getDate())}, ${date.getFullYear()}`;
}

function shortDate(date) {
  return `${MONTHS[date.getMonth()].slice(0, 3)} ${date.getDate()}, ${date.getFullYear()}`;
}

// Slack's "pretty" formats name the day when it is yesterday, today or tomorrow.
function relativeDay(date, now) {
  const startOf = (value) => new Date(value.getFullYear(), value.getMonth(), value.getDate()).getTime();
  const days = Math.round((startOf(date) - startOf(now)) / DAY_MS);
  return { '-1': 'yesterday', 0: 'today', 1: 'tomorrow' }[days];
}

function ago(date, now) {
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  const units = [
    ['year', 365 * 86_400],
    ['month', 30 * 86_400],
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
    ['second', 1],
  ];
  const [unit, size] = units.find(([, length]) => Math.abs(seconds) >= length) ?? ['second', 1];
  return new Intl.RelativeTimeFormat('en-US', { numeric: 'auto' }).format(Math.round(seconds / size), unit);
}
