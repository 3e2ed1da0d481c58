// The sandbox page: pick who you are, read their conversations and the app's Home tab, type
// /pim commands, click and submit what the app sends. Every change on the server arrives as a
// Server-Sent Event, after which the page fetches the member's state again.
import { renderBlocks, StateCollector } from './block-kit.js';
import { renderMrkdwn, renderPlainText, setDirectory } from './mrkdwn.js';
import { ModalLayer } from './modals.js';

const APP_HOME = 'home';
const APP_MESSAGES = 'app';

const elements = {
  who: document.getElementById('who'),
  whoDetails: document.getElementById('who-details'),
  channels: document.getElementById('channel-list'),
  apps: document.getElementById('app-list'),
  paneTitle: document.getElementById('pane-title'),
  paneTopic: document.getElementById('pane-topic'),
  tabs: document.getElementById('app-tabs'),
  body: document.getElementById('pane-body'),
  composer: document.getElementById('composer'),
  composerInput: document.getElementById('composer-input'),
  status: document.getElementById('status'),
  calls: document.getElementById('call-list'),
  connection: document.getElementById('connection'),
  reset: document.getElementById('reset'),
  confirmDialog: document.getElementById('confirm-dialog'),
};

const params = new URLSearchParams(location.search);
const page = {
  me: params.get('as') ?? localStorage.getItem('sandbox.as') ?? '',
  place: params.get('c') ?? APP_HOME,
  snapshot: undefined,
  // Messages seen per member and conversation, for the unread counts in the sidebar.
  seen: new Map(),
  messageNodes: new Map(),
  renderedHomeKey: undefined,
  homeCollector: undefined,
  refreshing: false,
  refreshAgain: false,
};
const modals = new ModalLayer(document.getElementById('modal-layer'), {
  confirm: (dialog) => confirmDialog(dialog),
  context: () => blockContext(),
  post,
  userId: () => page.me,
  onError: (text) => showStatus(text, true),
});

start();

async function start() {
  elements.who.addEventListener('change', () => switchMember(elements.who.value));
  elements.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    void sendCommand();
  });
  elements.composerInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void sendCommand();
    }
  });
  elements.reset.addEventListener('click', () => void resetSandbox());
  for (const tab of elements.tabs.querySelectorAll('button')) {
    tab.addEventListener('click', () => go(tab.dataset.place));
  }
  listen();
  await refresh();
  if (page.place === APP_HOME) void openHome();
}

function listen() {
  const events = new EventSource('/sandbox/events');
  events.addEventListener('changed', (event) => {
    elements.connection.textContent = 'Live';
    elements.connection.className = 'connection live';
    const { version } = JSON.parse(event.data);
    if (page.snapshot === undefined || version !== page.snapshot.version) void refresh();
  });
  events.addEventListener('error', () => {
    elements.connection.textContent = 'Reconnecting…';
    elements.connection.className = 'connection lost';
  });
}

// Fetches the member's state and redraws; a change during a fetch triggers one more.
async function refresh() {
  if (page.refreshing) {
    page.refreshAgain = true;
    return;
  }
  page.refreshing = true;
  try {
    do {
      page.refreshAgain = false;
      await loadAndRender();
    } while (page.refreshAgain);
  } finally {
    page.refreshing = false;
  }
}

async function loadAndRender() {
  if (page.me === '') {
    const first = await fetchJson('/sandbox/state?user=U0ALEX').catch(() => undefined);
    page.me = first?.people?.[0]?.id ?? 'U0ALEX';
  }
  let snapshot;
  try {
    snapshot = await fetchJson(`/sandbox/state?user=${encodeURIComponent(page.me)}`);
  } catch (error) {
    showStatus(`Could not load the sandbox: ${error.message}`, true);
    return;
  }
  page.snapshot = snapshot;
  setDirectory({ people: snapshot.people, channels: snapshot.channels, groups: snapshot.groups });
  renderWho();
  renderSidebar();
  renderPane();
  modals.render(snapshot.modals);
  renderCalls();
}

function renderWho() {
  const { people, me } = page.snapshot;
  if (elements.who.options.length !== people.length) {
    elements.who.replaceChildren(
      ...people.map((person) => {
        const option = document.createElement('option');
        option.value = person.id;
        option.textContent = person.realName;
        return option;
      }),
    );
  }
  elements.who.value = me;
  const person = people.find((candidate) => candidate.id === me);
  elements.whoDetails.textContent = person ? `${person.title} · ${person.tz}` : '';
}

function renderSidebar() {
  const { channels } = page.snapshot;
  elements.channels.replaceChildren(
    ...channels.filter((channel) => channel.member).map((channel) =>
      navItem(channel.id, `${channel.isPrivate ? '🔒' : '#'} ${channel.name}`, unread(channel.id)),
    ),
  );
  elements.apps.replaceChildren(navItem(APP_HOME, [appIcon('nav-icon'), 'pim'], unread(dmId())));
}

function navItem(place, label, count) {
  const item = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'nav-item';
  const current = place === page.place || (place === APP_HOME && page.place === APP_MESSAGES);
  if (current) button.setAttribute('aria-current', 'page');
  const text = document.createElement('span');
  text.append(...[label].flat());
  button.append(text);
  if (count > 0) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = String(count);
    badge.setAttribute('aria-label', `${count} new`);
    button.append(badge);
  }
  button.addEventListener('click', () => go(place === APP_HOME && page.place === APP_MESSAGES ? APP_MESSAGES : place));
  item.append(button);
  return item;
}

function renderPane() {
  const { place } = page;
  const inApp = place === APP_HOME || place === APP_MESSAGES;
  elements.tabs.hidden = !inApp;
  for (const tab of elements.tabs.querySelectorAll('button')) {
    tab.setAttribute('aria-selected', String(tab.dataset.place === place));
  }
  elements.composer.hidden = place === APP_HOME;
  if (place === APP_HOME) {
    elements.paneTitle.textContent = 'pim';
    elements.paneTopic.textContent = 'Just-in-time privileged access';
    renderHome();
    return;
  }
  page.renderedHomeKey = undefined;
  const channel = page.snapshot.channels.find((candidate) => candidate.id === place);
  const conversation = inApp ? dmId() : place;
  elements.paneTitle.textContent = inApp ? 'pim' : `${channel?.isPrivate ? '🔒' : '#'} ${channel?.name ?? place}`;
  elements.paneTopic.textContent = inApp ? 'Messages from the app' : (channel?.topic ?? '');
  elements.composerInput.placeholder = `Type /pim … in ${inApp ? 'the app’s messages' : `#${channel?.name ?? place}`}, then Enter`;
  renderMessages(conversation);
  markSeen(conversation);
}

function renderHome() {
  const home = page.snapshot.home;
  const key = home ? `${home.id}:${home.hash}` : 'none';
  if (key === page.renderedHomeKey) return;
  page.renderedHomeKey = key;
  page.messageNodes.clear();
  if (!home) {
    elements.body.replaceChildren(note('The app has not published a Home tab for you yet.'));
    return;
  }
  const collector = new StateCollector();
  page.homeCollector = collector;
  const view = renderBlocks(home.view.blocks, {
    ...blockContext(),
    collector,
    onAction: (action) => act({ type: 'view', viewId: home.id }, action, collector),
  });
  view.classList.add('home-view');
  elements.body.replaceChildren(view);
}

// Redraws only the messages whose content changed, so a half-filled select keeps its value.
function renderMessages(conversation) {
  const messages = page.snapshot.conversations[conversation] ?? [];
  const list = document.createElement('ol');
  list.className = 'messages';
  list.setAttribute('aria-label', 'Messages');
  const nodes = new Map();
  for (const message of messages) {
    const signature = JSON.stringify(message);
    const cached = page.messageNodes.get(`${conversation}/${message.ts}`);
    const node = cached?.signature === signature ? cached.node : renderMessage(conversation, message);
    nodes.set(`${conversation}/${message.ts}`, { signature, node });
    list.append(node);
  }
  page.messageNodes = nodes;
  if (messages.length === 0) list.append(note('No messages yet. Type /pim help below to start.'));
  elements.body.replaceChildren(list);
  // Like Slack, the newest message is in view after every update.
  elements.body.scrollTop = elements.body.scrollHeight;
}

function renderMessage(conversation, message) {
  const item = document.createElement('li');
  item.className = `message${message.ephemeral ? ' ephemeral' : ''}`;
  item.dataset.ts = message.ts;
  const author = authorOf(message.userId);
  const avatar = document.createElement('div');
  avatar.className = `avatar${author.bot ? ' avatar-bot' : ''}`;
  if (author.bot) avatar.append(appIcon(''));
  else avatar.textContent = author.initials;
  avatar.setAttribute('aria-hidden', 'true');
  const content = document.createElement('div');
  content.className = 'message-content';
  const header = document.createElement('div');
  header.className = 'message-header';
  const name = document.createElement('strong');
  name.textContent = author.name;
  header.append(name);
  if (author.bot) header.append(tag('APP'));
  const time = document.createElement('time');
  const date = new Date(Number(message.ts) * 1000);
  time.dateTime = date.toISOString();
  time.textContent = date.toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' });
  header.append(time);
  if (message.edited) header.append(tag('edited', 'edited'));
  content.append(header);
  if (message.ephemeral) content.append(note('👁 Only visible to you', 'ephemeral-note'));
  const collector = new StateCollector();
  const onAction = (action) => act({ type: 'message', channelId: conversation, ts: message.ts }, action, collector);
  if (Array.isArray(message.blocks) && message.blocks.length > 0) {
    content.append(renderBlocks(message.blocks, { ...blockContext(), collector, onAction }));
  } else {
    const text = document.createElement('div');
    text.className = 'message-text';
    text.append(renderMrkdwn(message.text));
    content.append(text);
  }
  for (const attachment of message.attachments ?? []) content.append(renderAttachment(attachment, collector, onAction));
  item.append(avatar, content);
  return item;
}

function renderAttachment(attachment, collector, onAction) {
  const box = document.createElement('div');
  box.className = 'attachment';
  if (attachment.color) box.style.borderLeftColor = attachment.color.startsWith('#') ? attachment.color : `#${attachment.color}`;
  if (attachment.title) box.append(Object.assign(document.createElement('strong'), { textContent: attachment.title }));
  if (attachment.text) box.append(renderMrkdwn(attachment.text));
  if (Array.isArray(attachment.blocks)) box.append(renderBlocks(attachment.blocks, { ...blockContext(), collector, onAction }));
  return box;
}

function renderCalls() {
  const calls = [...page.snapshot.calls].reverse();
  elements.calls.replaceChildren(
    ...calls.map((call) => {
      const item = document.createElement('li');
      item.className = call.ok ? 'call ok' : 'call rejected';
      const mark = call.ok ? '✓' : '✗';
      const time = new Date(call.at).toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit', second: '2-digit' });
      item.textContent = `${mark} ${call.method}${call.ok ? '' : ` → ${call.error}`}`;
      item.title = time;
      for (const line of call.messages) item.append(note(line, 'call-problem'));
      return item;
    }),
  );
}

function blockContext() {
  const snapshot = page.snapshot;
  return {
    directory: { people: snapshot?.people ?? [], channels: snapshot?.channels ?? [] },
    confirm: (dialog) => confirmDialog(dialog),
    errors: {},
  };
}

async function act(surface, action, collector) {
  const result = await post('/sandbox/action', { userId: page.me, surface, action, values: collector.values() });
  if (!result.ok) showStatus(result.error ?? 'The app did not accept that.', true);
}

async function sendCommand() {
  const text = elements.composerInput.value.trim();
  if (text === '') return;
  const channelId = page.place === APP_MESSAGES ? dmId() : page.place;
  elements.composerInput.value = '';
  showStatus(`Sent ${text.split(/\s+/).slice(0, 2).join(' ')} …`, false);
  const result = await post('/sandbox/command', { userId: page.me, channelId, text });
  if (result.ok) showStatus('', false);
  else {
    showStatus(result.error, true);
    if (!text.startsWith('/')) elements.composerInput.value = text;
  }
}

async function openHome() {
  const result = await post('/sandbox/home', { userId: page.me });
  if (!result.ok) showStatus(result.error, true);
}

async function resetSandbox() {
  if (!(await confirmDialog({
    title: { type: 'plain_text', text: 'Reset the sandbox?' },
    text: { type: 'plain_text', text: 'Every message, activation and change goes, and the story starts again.' },
    confirm: { type: 'plain_text', text: 'Reset' },
    deny: { type: 'plain_text', text: 'Cancel' },
    style: 'danger',
  }))) return;
  elements.reset.disabled = true;
  showStatus('Resetting the sandbox…', false);
  const result = await post('/sandbox/reset', {});
  elements.reset.disabled = false;
  page.seen.clear();
  page.messageNodes.clear();
  page.renderedHomeKey = undefined;
  showStatus(result.ok ? 'The sandbox starts afresh.' : result.error, !result.ok);
  await refresh();
  if (page.place === APP_HOME) void openHome();
}

function switchMember(userId) {
  page.me = userId;
  localStorage.setItem('sandbox.as', userId);
  page.messageNodes.clear();
  page.renderedHomeKey = undefined;
  modals.reset();
  const channel = page.snapshot?.channels.find((candidate) => candidate.id === page.place);
  if (channel !== undefined && !channel.isPrivate) go(page.place);
  else if (channel !== undefined) go(APP_HOME);
  else go(page.place);
}

function go(place) {
  page.place = place;
  const url = new URL(location.href);
  url.searchParams.set('as', page.me);
  url.searchParams.set('c', place);
  history.replaceState(null, '', url);
  showStatus('', false);
  if (place === APP_HOME) void openHome();
  void refresh();
}

function markSeen(conversation) {
  const count = page.snapshot.conversations[conversation]?.length ?? 0;
  page.seen.set(`${page.me}/${conversation}`, count);
}

function unread(conversation) {
  const inView = (page.place === APP_MESSAGES && conversation === dmId()) || page.place === conversation;
  if (inView) return 0;
  const total = page.snapshot.conversations[conversation]?.length ?? 0;
  return Math.max(0, total - (page.seen.get(`${page.me}/${conversation}`) ?? 0));
}

function dmId() {
  return `D${page.me}`;
}

function authorOf(userId) {
  if (userId === page.snapshot.bot.userId) return { name: 'pim', bot: true };
  if (userId === 'USLACKBOT') return { name: 'Slackbot', bot: true };
  const person = page.snapshot.people.find((candidate) => candidate.id === userId);
  const name = person?.realName ?? userId;
  return { name, initials: name.split(/\s+/).map((word) => word[0]).join('').slice(0, 2), bot: false };
}

// Shows Slack's confirmation dialog object and resolves true when the person confirms.
function confirmDialog(dialog) {
  const element = elements.confirmDialog;
  element.querySelector('.confirm-title').replaceChildren(renderPlainText(dialog.title ?? { text: 'Are you sure?' }));
  const text = element.querySelector('.confirm-text');
  text.replaceChildren(dialog.text?.type === 'mrkdwn' ? renderMrkdwn(dialog.text.text) : renderPlainText(dialog.text));
  const yes = element.querySelector('.confirm-yes');
  const no = element.querySelector('.confirm-no');
  yes.replaceChildren(renderPlainText(dialog.confirm ?? { text: 'Yes' }));
  no.replaceChildren(renderPlainText(dialog.deny ?? { text: 'Cancel' }));
  yes.className = `sk-button ${dialog.style === 'danger' ? 'sk-button-danger' : 'sk-button-primary'} confirm-yes`;
  return new Promise((resolve) => {
    const finish = (value) => {
      yes.removeEventListener('click', onYes);
      no.removeEventListener('click', onNo);
      element.removeEventListener('cancel', onNo);
      element.close();
      resolve(value);
    };
    const onYes = () => finish(true);
    const onNo = (event) => {
      event?.preventDefault();
      finish(false);
    };
    yes.addEventListener('click', onYes);
    no.addEventListener('click', onNo);
    element.addEventListener('cancel', onNo);
    element.showModal();
    no.focus();
  });
}

async function post(path, body) {
  try {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
    return response.ok ? json : { ok: false, error: json.error ?? `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, error: `The sandbox did not answer: ${error.message}` };
  }
}

async function fetchJson(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

function showStatus(text, isError) {
  elements.status.textContent = text;
  elements.status.className = isError ? 'status error' : 'status';
}

function note(text, className = 'note') {
  const paragraph = document.createElement('p');
  paragraph.className = className;
  paragraph.textContent = text;
  return paragraph;
}

function appIcon(className) {
  const image = document.createElement('img');
  image.src = '/sandbox/assets/icon.svg';
  image.alt = '';
  image.className = className;
  return image;
}

function tag(text, className = 'tag') {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = text;
  return span;
}
