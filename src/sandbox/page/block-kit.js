// Renders Block Kit blocks and elements as DOM, close to how Slack draws them, and collects the
// state of their inputs in Slack's `state.values` shape. Interactive elements outside input
// blocks call `context.onAction` at once, because Slack sends their block_actions at once.
// Inputs in input blocks wait for the modal's submit, unless `dispatch_action` is set.
import { renderMrkdwn, renderPlainText, renderTextObject } from './mrkdwn.js';

/**
 * Collects the values of a surface's inputs: block id → action id → element state.
 */
export class StateCollector {
  constructor() {
    this.readers = [];
  }

  add(blockId, actionId, read, required = false) {
    this.readers.push({ blockId, actionId, read, required });
  }

  /** Returns the block ids of required inputs left empty, which Slack's client refuses to submit. */
  missingRequired() {
    return this.readers.filter(({ required, read }) => required && isEmptyState(read())).map(({ blockId }) => blockId);
  }

  values() {
    const values = {};
    for (const { blockId, actionId, read } of this.readers) {
      values[blockId] ??= {};
      values[blockId][actionId] = read();
    }
    return values;
  }
}

/**
 * Renders blocks into a container element. `context` holds: `collector` (a StateCollector),
 * `onAction(action)` for block_actions, `errors` (block id → message) for input blocks,
 * `directory` (people and channels for selects) and `confirm(dialog)`, which resolves true when
 * the person confirms.
 */
export function renderBlocks(blocks, context) {
  const container = document.createElement('div');
  container.className = 'blocks';
  (blocks ?? []).forEach((block, index) => {
    const blockId = block.block_id ?? `block-${index}`;
    const node = renderBlock(block, blockId, context);
    node.dataset.blockId = blockId;
    container.append(node);
  });
  return container;
}

function renderBlock(block, blockId, context) {
  switch (block.type) {
    case 'section':
      return renderSection(block, blockId, context);
    case 'header':
      return wrap('h3', 'block-header', renderPlainText(block.text));
    case 'divider':
      return document.createElement('hr');
    case 'context':
      return renderContext(block);
    case 'actions':
      return renderActions(block, blockId, context);
    case 'image':
      return renderImageBlock(block);
    case 'input':
      return renderInput(block, blockId, context);
    case 'rich_text':
      return wrap('div', 'block-section', renderMrkdwn(richTextToMrkdwn(block)));
    default:
      return wrap('div', 'block-unsupported', `Block type "${block.type}" is not drawn by the sandbox.`);
  }
}

function renderSection(block, blockId, context) {
  const section = document.createElement('div');
  section.className = 'block-section';
  const body = document.createElement('div');
  body.className = 'section-body';
  if (block.text) body.append(wrap('div', 'section-text', renderTextObject(block.text)));
  if (Array.isArray(block.fields)) {
    const fields = document.createElement('div');
    fields.className = 'section-fields';
    for (const field of block.fields) fields.append(wrap('div', 'section-field', renderTextObject(field)));
    body.append(fields);
  }
  section.append(body);
  if (block.accessory) {
    const accessory = renderElement(block.accessory, blockId, context, { dispatch: true });
    accessory.classList.add('section-accessory');
    section.append(accessory);
  }
  return section;
}

function renderContext(block) {
  const row = document.createElement('div');
  row.className = 'block-context';
  for (const element of block.elements ?? []) {
    if (element.type === 'image') row.append(image(element.image_url, element.alt_text, 'context-image'));
    else row.append(wrap('span', 'context-text', renderTextObject(element)));
  }
  return row;
}

function renderActions(block, blockId, context) {
  const row = document.createElement('div');
  row.className = 'block-actions';
  for (const element of block.elements ?? []) row.append(renderElement(element, blockId, context, { dispatch: true }));
  return row;
}

function renderImageBlock(block) {
  const figure = document.createElement('figure');
  figure.className = 'block-image';
  if (block.title) figure.append(wrap('figcaption', '', renderPlainText(block.title)));
  figure.append(image(block.image_url ?? block.slack_file?.url, block.alt_text, ''));
  return figure;
}

function renderInput(block, blockId, context) {
  const group = document.createElement('div');
  group.className = 'block-input';
  const fieldId = `input-${blockId}-${Math.random().toString(36).slice(2, 8)}`;
  const label = document.createElement('label');
  label.className = 'input-label';
  label.htmlFor = fieldId;
  label.append(renderPlainText(block.label));
  if (block.optional) label.append(wrap('span', 'input-optional', ' (optional)'));
  group.append(label);
  const element = renderElement(block.element ?? {}, blockId, context, {
    dispatch: block.dispatch_action === true,
    fieldId,
    inInput: true,
    required: block.optional !== true,
  });
  group.append(element);
  if (block.hint) group.append(wrap('div', 'input-hint', renderPlainText(block.hint)));
  const error = context.errors?.[blockId];
  const errorLine = wrap('div', 'input-error', error ?? '');
  errorLine.setAttribute('role', 'alert');
  errorLine.hidden = error === undefined;
  group.append(errorLine);
  if (error !== undefined) group.classList.add('has-error');
  return group;
}

// Renders one element. `options.dispatch` sends block_actions on change, as elements in actions
// blocks and accessories do; `options.inInput` also records the element's state for submission.
function renderElement(element, blockId, context, options) {
  const actionId = element.action_id ?? `action-${Math.random().toString(36).slice(2, 8)}`;
  const send = (fields) => context.onAction({ type: element.type, action_id: actionId, block_id: blockId, ...fields });
  const act = async (fields) => {
    if (element.confirm && !(await context.confirm(element.confirm))) return false;
    send(fields);
    return true;
  };
  const record = (read) =>
    context.collector?.add(blockId, actionId, () => ({ type: element.type, ...read() }), options.required === true);

  switch (element.type) {
    case 'button':
      return renderButton(element, act);
    case 'overflow':
      return renderOverflow(element, act);
    case 'image':
      return image(element.image_url, element.alt_text, 'accessory-image');
    case 'static_select':
    case 'users_select':
    case 'conversations_select':
    case 'channels_select':
    case 'external_select':
      return renderSelect(element, context, options, act, record, false);
    case 'multi_static_select':
    case 'multi_users_select':
    case 'multi_conversations_select':
    case 'multi_channels_select':
    case 'multi_external_select':
      return renderSelect(element, context, options, act, record, true);
    case 'checkboxes':
    case 'radio_buttons':
      return renderChoices(element, options, act, record);
    case 'datepicker':
    case 'timepicker':
    case 'datetimepicker':
      return renderPicker(element, options, act, record);
    case 'plain_text_input':
    case 'number_input':
    case 'email_text_input':
    case 'url_text_input':
      return renderTextInput(element, options, act, record);
    default:
      return wrap('span', 'block-unsupported', `Element "${element.type}" is not drawn by the sandbox.`);
  }
}

function renderButton(element, act) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = `sk-button${element.style ? ` sk-button-${element.style}` : ''}`;
  button.append(renderPlainText(element.text));
  if (element.accessibility_label) button.setAttribute('aria-label', element.accessibility_label);
  button.addEventListener('click', async () => {
    const fields = { text: element.text, ...(element.value === undefined ? {} : { value: element.value }) };
    if (element.style) fields.style = element.style;
    if ((await act(fields)) && element.url) window.open(element.url, '_blank', 'noopener');
  });
  return button;
}

function renderOverflow(element, act) {
  const wrapper = document.createElement('div');
  wrapper.className = 'sk-overflow';
  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'sk-button sk-overflow-toggle';
  toggle.setAttribute('aria-label', 'More actions');
  toggle.setAttribute('aria-haspopup', 'menu');
  toggle.textContent = '⋯';
  const menu = document.createElement('div');
  menu.className = 'sk-menu';
  menu.setAttribute('role', 'menu');
  menu.hidden = true;
  for (const option of element.options ?? []) {
    const item = document.createElement('button');
    item.type = 'button';
    item.setAttribute('role', 'menuitem');
    item.append(renderPlainText(option.text));
    item.addEventListener('click', async () => {
      menu.hidden = true;
      if ((await act({ selected_option: describeOption(option) })) && option.url) window.open(option.url, '_blank', 'noopener');
    });
    menu.append(item);
  }
  toggle.addEventListener('click', () => {
    menu.hidden = !menu.hidden;
    if (!menu.hidden) menu.querySelector('button')?.focus();
  });
  menu.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      menu.hidden = true;
      toggle.focus();
    }
  });
  wrapper.append(toggle, menu);
  return wrapper;
}

function renderSelect(element, context, options, act, record, multiple) {
  const select = document.createElement('select');
  select.className = 'sk-select';
  if (options.fieldId) select.id = options.fieldId;
  select.multiple = multiple;
  if (multiple) select.size = 4;
  const choices = selectChoices(element, context.directory);
  if (element.type.endsWith('external_select')) {
    select.disabled = true;
    select.title = 'The sandbox does not load options from the app.';
  }
  if (!multiple) {
    const placeholder = document.createElement('option');
    placeholder.value = '';
    placeholder.textContent = element.placeholder?.text ?? 'Select an item';
    select.append(placeholder);
  }
  for (const group of choices) {
    const parent = group.label === undefined ? select : document.createElement('optgroup');
    if (group.label !== undefined) {
      parent.label = group.label;
      select.append(parent);
    }
    for (const choice of group.options) {
      const option = document.createElement('option');
      option.value = choice.value;
      option.textContent = choice.label;
      option.selected = choice.initial;
      parent.append(option);
    }
  }
  const selectedValues = () => [...select.selectedOptions].map((option) => option.value).filter((value) => value !== '');
  const read = () => selectionState(element, choices, selectedValues());
  if (options.inInput) record(read);
  if (options.dispatch) {
    let previous = select.value;
    select.addEventListener('change', async () => {
      if (!(await act(read()))) select.value = previous;
      previous = select.value;
    });
  }
  return select;
}

// Returns groups of { value, label, initial, option } for any select type.
function selectChoices(element, directory) {
  const initialValues = new Set([
    element.initial_option?.value,
    ...(element.initial_options ?? []).map((option) => option.value),
    element.initial_user,
    ...(element.initial_users ?? []),
    element.initial_conversation,
    ...(element.initial_conversations ?? []),
    element.initial_channel,
    ...(element.initial_channels ?? []),
  ].filter((value) => value !== undefined));
  const fromOption = (option) => ({ value: option.value, label: option.text?.text ?? option.value, initial: initialValues.has(option.value), option });
  if (element.type.includes('users_select')) {
    return [{ options: directory.people.map((person) => ({ value: person.id, label: `${person.realName} (@${person.name})`, initial: initialValues.has(person.id) })) }];
  }
  if (element.type.includes('conversations_select') || element.type.includes('channels_select')) {
    return [{ options: directory.channels.map((channel) => ({ value: channel.id, label: `#${channel.name}`, initial: initialValues.has(channel.id) })) }];
  }
  if (Array.isArray(element.option_groups)) {
    return element.option_groups.map((group) => ({ label: group.label?.text ?? '', options: (group.options ?? []).map(fromOption) }));
  }
  return [{ options: (element.options ?? []).map(fromOption) }];
}

function selectionState(element, choices, values) {
  const all = choices.flatMap((group) => group.options);
  const chosen = values.map((value) => all.find((choice) => choice.value === value)).filter(Boolean);
  switch (element.type) {
    case 'users_select':
      return { selected_user: values[0] ?? null };
    case 'multi_users_select':
      return { selected_users: values };
    case 'conversations_select':
      return { selected_conversation: values[0] ?? null };
    case 'multi_conversations_select':
      return { selected_conversations: values };
    case 'channels_select':
      return { selected_channel: values[0] ?? null };
    case 'multi_channels_select':
      return { selected_channels: values };
    case 'multi_static_select':
    case 'multi_external_select':
      return { selected_options: chosen.map((choice) => describeOption(choice.option)) };
    default:
      return { selected_option: chosen[0] ? describeOption(chosen[0].option) : null };
  }
}

function renderChoices(element, options, act, record) {
  const radio = element.type === 'radio_buttons';
  const fieldset = document.createElement('fieldset');
  fieldset.className = 'sk-choices';
  if (options.fieldId) fieldset.id = options.fieldId;
  const name = `choice-${Math.random().toString(36).slice(2, 10)}`;
  const initial = new Set([element.initial_option?.value, ...(element.initial_options ?? []).map((option) => option.value)]);
  const inputs = [];
  for (const option of element.options ?? []) {
    const label = document.createElement('label');
    label.className = 'sk-choice';
    const input = document.createElement('input');
    input.type = radio ? 'radio' : 'checkbox';
    input.name = name;
    input.value = option.value;
    input.checked = initial.has(option.value);
    inputs.push({ input, option });
    const text = document.createElement('span');
    text.append(renderTextObject(option.text));
    if (option.description) text.append(wrap('span', 'choice-description', renderTextObject(option.description)));
    label.append(input, text);
    fieldset.append(label);
  }
  const read = () => {
    const chosen = inputs.filter(({ input }) => input.checked).map(({ option }) => describeOption(option));
    return radio ? { selected_option: chosen[0] ?? null } : { selected_options: chosen };
  };
  if (options.inInput) record(read);
  if (options.dispatch) fieldset.addEventListener('change', () => void act(read()));
  return fieldset;
}

function renderPicker(element, options, act, record) {
  const input = document.createElement('input');
  input.className = 'sk-input sk-picker';
  if (options.fieldId) input.id = options.fieldId;
  if (element.placeholder?.text) input.title = element.placeholder.text;
  let read;
  if (element.type === 'datepicker') {
    input.type = 'date';
    input.value = element.initial_date ?? '';
    read = () => ({ selected_date: input.value === '' ? null : input.value });
  } else if (element.type === 'timepicker') {
    input.type = 'time';
    input.value = element.initial_time ?? '';
    read = () => ({ selected_time: input.value === '' ? null : input.value, ...(element.timezone ? { timezone: element.timezone } : {}) });
  } else {
    input.type = 'datetime-local';
    if (element.initial_date_time !== undefined) input.value = toLocalInputValue(element.initial_date_time);
    // Slack sends the chosen instant in epoch seconds; the browser reads the field in its own time zone.
    read = () => ({ selected_date_time: input.value === '' ? null : Math.floor(new Date(input.value).getTime() / 1000) });
  }
  if (options.inInput) record(read);
  if (options.dispatch) input.addEventListener('change', () => void act(read()));
  return input;
}

function renderTextInput(element, options, act, record) {
  const multiline = element.type === 'plain_text_input' && element.multiline === true;
  const input = document.createElement(multiline ? 'textarea' : 'input');
  input.className = 'sk-input';
  if (options.fieldId) input.id = options.fieldId;
  if (!multiline) input.type = { number_input: 'number', email_text_input: 'email', url_text_input: 'url' }[element.type] ?? 'text';
  if (multiline) input.rows = 4;
  if (element.placeholder?.text) input.placeholder = element.placeholder.text;
  if (element.initial_value !== undefined) input.value = element.initial_value;
  if (element.max_length !== undefined) input.maxLength = element.max_length;
  if (element.min_length !== undefined) input.minLength = element.min_length;
  if (element.type === 'number_input') {
    input.step = element.is_decimal_allowed ? 'any' : '1';
    if (element.min_value !== undefined) input.min = element.min_value;
    if (element.max_value !== undefined) input.max = element.max_value;
  }
  const read = () => ({ value: input.value === '' ? null : input.value });
  if (options.inInput) record(read);
  // Slack dispatches a text input's action when the person presses Enter, with
  // dispatch_action_config's default trigger.
  if (options.dispatch) {
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        void act(read());
      }
    });
  }
  return input;
}

function isEmptyState(state) {
  return Object.entries(state).every(([key, value]) => key === 'type' || key === 'timezone' || value === null || (Array.isArray(value) && value.length === 0));
}

function describeOption(option) {
  return {
    text: option.text,
    value: option.value,
    ...(option.description ? { description: option.description } : {}),
  };
}

function image(url, alt, className) {
  const img = document.createElement('img');
  img.className = className;
  img.alt = alt ?? '';
  img.loading = 'lazy';
  if (url) img.src = url;
  return img;
}

function wrap(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(content);
  return node;
}

function toLocalInputValue(epochSeconds) {
  const date = new Date(epochSeconds * 1000);
  const pad = (value) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// Flattens rich text to mrkdwn, enough to read it; the sandbox does not draw rich text styling.
function richTextToMrkdwn(block) {
  const parts = [];
  const walk = (node) => {
    if (node.type === 'text') parts.push(node.text ?? '');
    else if (node.type === 'user') parts.push(`<@${node.user_id}>`);
    else if (node.type === 'link') parts.push(`<${node.url}|${node.text ?? node.url}>`);
    for (const child of node.elements ?? []) walk(child);
    if (node.type === 'rich_text_section') parts.push('\n');
  };
  walk(block);
  return parts.join('').trim();
}
