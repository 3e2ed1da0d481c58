/**
 * Checks of message and view content against Slack's documented limits. Each problem becomes a
 * line in Slack's format, such as
 * "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]".
 */
import { isRecord, slackError, slackOk, type JsonObject, type Reply } from './http-io.js';
import {
  ACTION_ID_MAX_CHARS,
  ACTIONS_MAX_ELEMENTS,
  BLOCK_ID_MAX_CHARS,
  BUTTON_TEXT_MAX_CHARS,
  BUTTON_URL_MAX_CHARS,
  BUTTON_VALUE_MAX_CHARS,
  CHECKBOXES_MAX_OPTIONS,
  CONFIRM_BUTTON_MAX_CHARS,
  CONFIRM_TEXT_MAX_CHARS,
  CONFIRM_TITLE_MAX_CHARS,
  CONTEXT_MAX_ELEMENTS,
  HEADER_TEXT_MAX_CHARS,
  INPUT_HINT_MAX_CHARS,
  INPUT_LABEL_MAX_CHARS,
  MESSAGE_MAX_BLOCKS,
  MESSAGE_TEXT_MAX_CHARS,
  MODAL_BUTTON_TEXT_MAX_CHARS,
  MODAL_TITLE_MAX_CHARS,
  OPTION_TEXT_MAX_CHARS,
  OPTION_VALUE_MAX_CHARS,
  OVERFLOW_MAX_OPTIONS,
  PLAIN_TEXT_INPUT_MAX_LENGTH,
  RADIO_BUTTONS_MAX_OPTIONS,
  SECTION_FIELD_MAX_CHARS,
  SECTION_MAX_FIELDS,
  SECTION_TEXT_MAX_CHARS,
  SELECT_MAX_OPTION_GROUPS,
  SELECT_MAX_OPTIONS,
  SELECT_PLACEHOLDER_MAX_CHARS,
  VIEW_CALLBACK_ID_MAX_CHARS,
  VIEW_EXTERNAL_ID_MAX_CHARS,
  VIEW_MAX_BLOCKS,
  VIEW_MAX_BYTES,
  VIEW_PRIVATE_METADATA_MAX_CHARS,
} from './limits.js';

/** The kinds of view a Slack app can send. */
export type ViewType = 'modal' | 'home';

/** Checks the content of chat.postMessage, chat.postEphemeral, chat.update and response_url posts. */
export function checkMessageContent(args: JsonObject): Reply | undefined {
  const text = typeof args.text === 'string' ? args.text : '';
  const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
  const hasAttachments = Array.isArray(args.attachments) && args.attachments.length > 0;
  if (text === '' && !hasBlocks && !hasAttachments) {
    return slackError('no_text');
  }
  if (countCharacters(text) > MESSAGE_TEXT_MAX_CHARS) {
    return slackError('msg_too_long');
  }
  if (args.blocks === undefined) {
    return undefined;
  }
  if (!Array.isArray(args.blocks)) {
    return slackError('invalid_blocks_format');
  }
  const problems: string[] = [];
  checkBlockList(args.blocks, MESSAGE_MAX_BLOCKS, '/blocks', problems);
  return problems.length === 0 ? undefined : slackError('invalid_blocks', problems);
}

// NOTE: Slack does not document how a response_url responds to a payload it rejects. The stand-in
// returns HTTP 400 with Slack's error code, so Bolt's respond() throws and the author notices.
/** Checks a `response_url` payload; a rejected one is an HTTP 400 reply. */
export function checkResponseUrlPayload(payload: JsonObject | undefined): Reply {
  if (payload === undefined) {
    return { status: 400, body: { ok: false, error: 'invalid_json' } };
  }
  if (payload.delete_original === true) {
    return slackOk({});
  }
  const invalid = checkMessageContent(payload);
  return invalid === undefined ? slackOk({}) : { ...invalid, status: 400 };
}

/**
 * Checks a view argument of views.open, views.push, views.update or views.publish, or a view in a
 * `response_action`. Slack reports view problems as invalid_arguments with /view/… pointers,
 * unlike messages (invalid_blocks).
 */
export function checkViewArgument(view: unknown, expectedType: ViewType): Reply | undefined {
  if (!isRecord(view)) {
    return slackError('invalid_arguments', ['[ERROR] missing required field: view [json-pointer:/view]']);
  }
  if (Buffer.byteLength(JSON.stringify(view)) > VIEW_MAX_BYTES) {
    return slackError('view_too_large');
  }
  if (view.type !== expectedType) {
    return slackError('invalid_arguments', [`[ERROR] must be "${expectedType}" [json-pointer:/view/type]`]);
  }

  const problems: string[] = [];
  if (expectedType === 'modal') {
    if (isRecord(view.title)) {
      checkTextObject(view.title, MODAL_TITLE_MAX_CHARS, '/view/title', problems);
    } else {
      problems.push(missingField('title', '/view'));
    }
    checkTextObject(view.submit, MODAL_BUTTON_TEXT_MAX_CHARS, '/view/submit', problems);
    checkTextObject(view.close, MODAL_BUTTON_TEXT_MAX_CHARS, '/view/close', problems);
  }
  checkString(view.private_metadata, VIEW_PRIVATE_METADATA_MAX_CHARS, '/view/private_metadata', problems);
  checkString(view.callback_id, VIEW_CALLBACK_ID_MAX_CHARS, '/view/callback_id', problems);
  checkString(view.external_id, VIEW_EXTERNAL_ID_MAX_CHARS, '/view/external_id', problems);
  if (Array.isArray(view.blocks)) {
    checkBlockList(view.blocks, VIEW_MAX_BLOCKS, '/view/blocks', problems);
  } else {
    problems.push(missingField('blocks', '/view'));
  }
  return problems.length === 0 ? undefined : slackError('invalid_arguments', problems);
}

// NOTE: Slack does not say whether its limits count code points or UTF-16 units. This counts code
// points, and the two differ only for characters outside the Basic Multilingual Plane, such as emoji.
/** Counts the characters of a string as Slack's limits do. */
export function countCharacters(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function checkBlockList(blocks: unknown[], maxBlocks: number, pointer: string, problems: string[]): void {
  checkItemCount(blocks, maxBlocks, pointer, problems);
  blocks.forEach((block, index) => checkBlock(block, `${pointer}/${index}`, problems));
}

function checkBlock(block: unknown, pointer: string, problems: string[]): void {
  if (!isRecord(block)) {
    problems.push(`[ERROR] must be an object [json-pointer:${pointer}]`);
    return;
  }
  if (typeof block.type !== 'string') {
    problems.push(missingField('type', pointer));
    return;
  }
  checkString(block.block_id, BLOCK_ID_MAX_CHARS, `${pointer}/block_id`, problems);

  switch (block.type) {
    case 'section':
      checkTextObject(block.text, SECTION_TEXT_MAX_CHARS, `${pointer}/text`, problems);
      checkItemCount(block.fields, SECTION_MAX_FIELDS, `${pointer}/fields`, problems);
      forEachItem(block.fields, `${pointer}/fields`, (field, at) =>
        checkTextObject(field, SECTION_FIELD_MAX_CHARS, at, problems),
      );
      checkElement(block.accessory, `${pointer}/accessory`, problems);
      break;
    case 'header':
      checkTextObject(block.text, HEADER_TEXT_MAX_CHARS, `${pointer}/text`, problems);
      break;
    case 'context':
      checkItemCount(block.elements, CONTEXT_MAX_ELEMENTS, `${pointer}/elements`, problems);
      break;
    case 'actions':
      checkItemCount(block.elements, ACTIONS_MAX_ELEMENTS, `${pointer}/elements`, problems);
      forEachItem(block.elements, `${pointer}/elements`, (element, at) => checkElement(element, at, problems));
      break;
    case 'input':
      checkTextObject(block.label, INPUT_LABEL_MAX_CHARS, `${pointer}/label`, problems);
      checkTextObject(block.hint, INPUT_HINT_MAX_CHARS, `${pointer}/hint`, problems);
      checkElement(block.element, `${pointer}/element`, problems);
      break;
    default:
      break;
  }
}

function checkElement(element: unknown, pointer: string, problems: string[]): void {
  if (!isRecord(element)) {
    return;
  }
  checkString(element.action_id, ACTION_ID_MAX_CHARS, `${pointer}/action_id`, problems);
  checkConfirm(element.confirm, `${pointer}/confirm`, problems);

  switch (element.type) {
    case 'button':
      checkTextObject(element.text, BUTTON_TEXT_MAX_CHARS, `${pointer}/text`, problems);
      checkString(element.value, BUTTON_VALUE_MAX_CHARS, `${pointer}/value`, problems);
      checkString(element.url, BUTTON_URL_MAX_CHARS, `${pointer}/url`, problems);
      return;
    case 'static_select':
    case 'multi_static_select':
      checkSelectOptions(element, pointer, problems);
      break;
    case 'overflow':
      checkItemCount(element.options, OVERFLOW_MAX_OPTIONS, `${pointer}/options`, problems);
      break;
    case 'checkboxes':
      checkItemCount(element.options, CHECKBOXES_MAX_OPTIONS, `${pointer}/options`, problems);
      break;
    case 'radio_buttons':
      checkItemCount(element.options, RADIO_BUTTONS_MAX_OPTIONS, `${pointer}/options`, problems);
      break;
    case 'plain_text_input':
      checkNumberAtMost(element.max_length, PLAIN_TEXT_INPUT_MAX_LENGTH, `${pointer}/max_length`, problems);
      break;
    default:
      break;
  }
  checkTextObject(element.placeholder, SELECT_PLACEHOLDER_MAX_CHARS, `${pointer}/placeholder`, problems);
  // Options of any element (selects, overflow menus, radio buttons, checkboxes) share one shape.
  forEachItem(element.options, `${pointer}/options`, (option, at) => checkOption(option, at, problems));
  checkOption(element.initial_option, `${pointer}/initial_option`, problems);
  forEachItem(element.initial_options, `${pointer}/initial_options`, (option, at) => checkOption(option, at, problems));
}

function checkSelectOptions(element: JsonObject, pointer: string, problems: string[]): void {
  checkItemCount(element.options, SELECT_MAX_OPTIONS, `${pointer}/options`, problems);
  checkItemCount(element.option_groups, SELECT_MAX_OPTION_GROUPS, `${pointer}/option_groups`, problems);
  forEachItem(element.option_groups, `${pointer}/option_groups`, (group, at) => {
    if (isRecord(group)) {
      checkItemCount(group.options, SELECT_MAX_OPTIONS, `${at}/options`, problems);
      forEachItem(group.options, `${at}/options`, (option, optionAt) => checkOption(option, optionAt, problems));
    }
  });
}

function checkConfirm(confirm: unknown, pointer: string, problems: string[]): void {
  if (!isRecord(confirm)) {
    return;
  }
  checkTextObject(confirm.title, CONFIRM_TITLE_MAX_CHARS, `${pointer}/title`, problems);
  checkTextObject(confirm.text, CONFIRM_TEXT_MAX_CHARS, `${pointer}/text`, problems);
  checkTextObject(confirm.confirm, CONFIRM_BUTTON_MAX_CHARS, `${pointer}/confirm`, problems);
  checkTextObject(confirm.deny, CONFIRM_BUTTON_MAX_CHARS, `${pointer}/deny`, problems);
}

function checkOption(option: unknown, pointer: string, problems: string[]): void {
  if (!isRecord(option)) {
    return;
  }
  checkTextObject(option.text, OPTION_TEXT_MAX_CHARS, `${pointer}/text`, problems);
  checkTextObject(option.description, OPTION_TEXT_MAX_CHARS, `${pointer}/description`, problems);
  checkString(option.value, OPTION_VALUE_MAX_CHARS, `${pointer}/value`, problems);
}

// A text object is `{ type, text }`, and the limit applies to its `text`.
function checkTextObject(textObject: unknown, maxChars: number, pointer: string, problems: string[]): void {
  if (isRecord(textObject)) {
    checkString(textObject.text, maxChars, `${pointer}/text`, problems);
  }
}

function checkString(value: unknown, maxChars: number, pointer: string, problems: string[]): void {
  if (typeof value === 'string' && countCharacters(value) > maxChars) {
    problems.push(`[ERROR] must be less than ${maxChars + 1} characters [json-pointer:${pointer}]`);
  }
}

function checkNumberAtMost(value: unknown, max: number, pointer: string, problems: string[]): void {
  if (typeof value === 'number' && value > max) {
    problems.push(`[ERROR] must be at most ${max} [json-pointer:${pointer}]`);
  }
}

function checkItemCount(items: unknown, maxItems: number, pointer: string, problems: string[]): void {
  if (Array.isArray(items) && items.length > maxItems) {
    problems.push(`[ERROR] no more than ${maxItems} items allowed [json-pointer:${pointer}]`);
  }
}

function forEachItem(items: unknown, pointer: string, check: (item: unknown, pointer: string) => void): void {
  if (Array.isArray(items)) {
    items.forEach((item, index) => check(item, `${pointer}/${index}`));
  }
}

function missingField(field: string, pointer: string): string {
  return `[ERROR] missing required field: ${field} [json-pointer:${pointer}]`;
}
