/**
 * A local stand-in for the Slack Web API, used by integration tests that run the real Bolt app.
 *
 * It serves the Web API methods slack-pim calls and the `response_url`s it issues, records every
 * request, and rejects payloads that break Slack's documented limits with Slack's error
 * codes, so a test fails here instead of in a real workspace.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IANAZone } from 'luxon';

// ---------------------------------------------------------------------------------------------
// Slack's limits. Each group names the page it comes from.
// ---------------------------------------------------------------------------------------------

// https://docs.slack.dev/reference/block-kit/blocks
export const MESSAGE_MAX_BLOCKS = 50;
export const VIEW_MAX_BLOCKS = 100;

// https://docs.slack.dev/reference/methods/chat.postMessage
// NOTE: Slack documents that it truncates `text` beyond 40,000 characters and lists `msg_too_long`
// without a number. The fake rejects longer text so a test notices before users see a cut message.
export const MESSAGE_TEXT_MAX_CHARS = 40_000;

// https://docs.slack.dev/reference/block-kit/blocks/section-block
export const SECTION_TEXT_MAX_CHARS = 3_000;
export const SECTION_MAX_FIELDS = 10;
export const SECTION_FIELD_MAX_CHARS = 2_000;

// https://docs.slack.dev/reference/block-kit/blocks/header-block
export const HEADER_TEXT_MAX_CHARS = 150;
export const BLOCK_ID_MAX_CHARS = 255;

// https://docs.slack.dev/reference/block-kit/blocks/actions-block
export const ACTIONS_MAX_ELEMENTS = 25;

// https://docs.slack.dev/reference/block-kit/block-elements/button-element
export const BUTTON_TEXT_MAX_CHARS = 75;
export const BUTTON_VALUE_MAX_CHARS = 2_000;
export const BUTTON_URL_MAX_CHARS = 3_000;
export const ACTION_ID_MAX_CHARS = 255;

// https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element#static_select
// and https://docs.slack.dev/reference/block-kit/composition-objects/option-group-object
export const SELECT_MAX_OPTIONS = 100;
export const SELECT_MAX_OPTION_GROUPS = 100;
export const SELECT_PLACEHOLDER_MAX_CHARS = 150;

// https://docs.slack.dev/reference/block-kit/composition-objects/option-object
export const OPTION_TEXT_MAX_CHARS = 75;
export const OPTION_VALUE_MAX_CHARS = 150;

// https://docs.slack.dev/reference/views/modal-views (Home tab views share the last three fields)
export const MODAL_TITLE_MAX_CHARS = 24;
export const MODAL_BUTTON_TEXT_MAX_CHARS = 24;
export const VIEW_PRIVATE_METADATA_MAX_CHARS = 3_000;
export const VIEW_CALLBACK_ID_MAX_CHARS = 255;
export const VIEW_EXTERNAL_ID_MAX_CHARS = 255;

// https://docs.slack.dev/reference/methods/views.open (`view_too_large`: "greater than 250kb")
export const VIEW_MAX_BYTES = 250_000;

// https://docs.slack.dev/tools/bolt-js/concepts/creating-modals: "Pass a valid trigger_id within
// 3 seconds of receiving it".
export const TRIGGER_ID_TTL_MS = 3_000;

// Slack documents the trigger id format as "132456.7890123.abcdef" (views.open, invalid_trigger_id).
const TRIGGER_ID_PATTERN = /^\d+\.\d+\.[0-9a-f]+$/;

// ---------------------------------------------------------------------------------------------
// The fake's own settings.
// ---------------------------------------------------------------------------------------------

export const DEFAULT_BOT_TOKEN = 'xoxb-test-token';
export const DEFAULT_APP_TOKEN = 'xapp-test-token';
export const DEFAULT_BOT_USER_ID = 'UBOT';
export const DEFAULT_BOT_ID = 'BBOT';
export const DEFAULT_TEAM_ID = 'T0TEST';
export const DEFAULT_APP_ID = 'A0TEST';
export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;

export const TEAM_DOMAIN = 'pim-test';
const TEAM_NAME = 'slack-pim tests';
const RESPONSE_URL_PATH = '/response/';
// Bounds the memory of one request. The largest payload Slack documents, a 250 kB view, fits well within it.
const MAX_REQUEST_BYTES = 5 * 1024 * 1024;
// Timestamp of the first message. Later ones count up in steps of 100 microseconds.
const FIRST_TS_SECONDS = 1_700_000_000;
const TS_STEP_MICROSECONDS = 100;
// Argument fields that @slack/web-api sends as JSON strings inside a form body.
const JSON_ENCODED_FIELDS = {
  blocks: 'invalid_blocks_format',
  attachments: 'invalid_attachments',
  view: 'invalid_arguments',
} as const;

// ---------------------------------------------------------------------------------------------
// Types.
// ---------------------------------------------------------------------------------------------

type JsonObject = Record<string, unknown>;

/** A Web API call or `response_url` POST received by the fake, in arrival order. */
export interface RecordedCall {
  /** Web API method name such as `chat.postMessage`, or `response_url`. */
  method: string;
  /** Arguments without the token, with `blocks`, `view` and `attachments` decoded from JSON. */
  body: JsonObject;
  /** Full request URL. */
  url: string;
  /** Arrival time in milliseconds since the epoch, from the fake's clock. */
  at: number;
  /** HTTP status of the fake's response. */
  status: number;
  /** Response body the fake sent: a JSON object, or text for an injected 5xx failure. */
  response: JsonObject | string;
}

/** Options of {@link FakeSlack.start}. */
export interface FakeSlackOptions {
  botToken?: string;
  /** App-level token that `apps.connections.open` accepts. */
  appToken?: string;
  botUserId?: string;
  botId?: string;
  teamId?: string;
  /** Clock in milliseconds since the epoch. Inject one to test trigger expiry without waiting. */
  now?: () => number;
}

/** A workspace member that `users.info` returns. */
export interface FakeUser {
  id: string;
  /** IANA time zone name, `UTC` by default. */
  tz?: string;
  /** Offset from UTC in seconds. When omitted, the fake computes it from `tz` at the time of the call. */
  tzOffsetSeconds?: number;
  deleted?: boolean;
  name?: string;
  isBot?: boolean;
}

/** A failure that {@link FakeSlack.failNext} injects into the next calls of one method. */
export interface InjectedFailure {
  /**
   * HTTP status of the response: 429 sends a `Retry-After` header, 5xx a text body, and 200 the
   * body `{ ok: false, error }`. The default is 429 when `retryAfterSeconds` is set, else 200.
   */
  status?: number;
  /** Slack error code of a 200 response (default `fatal_error`). */
  error?: string;
  /** `Retry-After` value of a 429 response in seconds (default 1). */
  retryAfterSeconds?: number;
  /** Number of consecutive calls that fail (default 1). */
  times?: number;
  /**
   * Closes the connection without a response, after recording the call with status 0. This is a
   * network error whose outcome the client cannot know. `status` and `error` are then ignored.
   */
  disconnect?: boolean;
}

/**
 * A call that {@link FakeSlack.holdNext} keeps waiting before the fake looks at it, as if it had
 * not reached Slack yet. It is recorded and answered only when released, and dropped unrecorded
 * when the client goes away first (a crash before Slack got the request).
 */
export interface HeldCall {
  /** Resolves when a call arrives and is being held. */
  readonly arrived: Promise<void>;
  /** Resolves with `true` when the client disconnected while the call was held. */
  readonly dropped: Promise<boolean>;
  /** Lets the held call through. */
  release(): void;
}

interface PendingHold {
  arrive(): void;
  drop(dropped: boolean): void;
  released: Promise<void>;
}

/** A modal or Home tab the fake holds, as last opened, pushed, updated or published. */
export interface FakeView {
  id: string;
  /** User the view was opened for: the owner of the trigger id, or the Home tab's user. */
  userId: string | undefined;
  hash: string;
  rootViewId: string;
  /** The view object as the app sent it. */
  view: JsonObject;
}

interface Reply {
  status: number;
  body: JsonObject | string;
  headers?: Record<string, string>;
}

interface IssuedTrigger {
  issuedAt: number;
  userId: string | undefined;
  exchanged: boolean;
}

interface PendingFailure {
  failure: InjectedFailure;
  remaining: number;
}

interface Waiter {
  onCall(call: RecordedCall): void;
  onClose(): void;
}

type ViewType = 'modal' | 'home';
type ApiHandler = (args: JsonObject) => Reply;

// ---------------------------------------------------------------------------------------------
// The server.
// ---------------------------------------------------------------------------------------------

/** A Slack Web API server on 127.0.0.1 that records calls and enforces Slack's limits. */
export class FakeSlack {
  /** Base URL to pass as the WebClient `slackApiUrl`, ending in `/api/`. */
  readonly apiUrl: string;
  readonly botToken: string;
  readonly appToken: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;

  private readonly origin: string;
  private readonly now: () => number;
  private readonly recorded: RecordedCall[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly users = new Map<string, FakeUser>();
  private readonly userGroups = new Map<string, string[]>();
  private readonly missingChannels = new Set<string>();
  private readonly nonMemberChannels = new Set<string>();
  private readonly holds = new Map<string, PendingHold[]>();
  private socketModeUrl: string | undefined;
  private readonly triggers = new Map<string, IssuedTrigger>();
  private readonly responseUrlIds = new Set<string>();
  private readonly failures = new Map<string, PendingFailure[]>();
  private readonly messages = new Map<string, JsonObject>();
  private readonly views = new Map<string, FakeView>();
  private readonly lastModalIdByUser = new Map<string | undefined, string>();
  private readonly homeViewIdByUser = new Map<string, string>();
  private lastModalId: string | undefined;
  private messageCount = 0;
  private viewCount = 0;
  private triggerCount = 0;

  private readonly handlers: ReadonlyMap<string, ApiHandler> = new Map<string, ApiHandler>([
    ['auth.test', () => this.authTest()],
    ['chat.postMessage', (args) => this.postMessage(args)],
    ['chat.postEphemeral', (args) => this.postEphemeral(args)],
    ['chat.update', (args) => this.updateMessage(args)],
    ['chat.delete', (args) => this.deleteMessage(args)],
    ['views.open', (args) => this.openView(args)],
    ['views.push', (args) => this.openView(args)],
    ['views.update', (args) => this.updateView(args)],
    ['views.publish', (args) => this.publishView(args)],
    ['users.info', (args) => this.userInfo(args)],
    ['conversations.open', (args) => this.openConversation(args)],
    ['conversations.info', (args) => this.conversationInfo(args)],
    ['apps.connections.open', () => this.openSocketConnection()],
    ['usergroups.users.list', (args) => this.listUserGroupMembers(args)],
  ]);

  private constructor(
    private readonly server: Server,
    options: FakeSlackOptions,
  ) {
    const address = server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${address.port}`;
    this.apiUrl = `${this.origin}/api/`;
    this.botToken = options.botToken ?? DEFAULT_BOT_TOKEN;
    this.appToken = options.appToken ?? DEFAULT_APP_TOKEN;
    this.botUserId = options.botUserId ?? DEFAULT_BOT_USER_ID;
    this.botId = options.botId ?? DEFAULT_BOT_ID;
    this.teamId = options.teamId ?? DEFAULT_TEAM_ID;
    this.now = options.now ?? Date.now;
  }

  /** Starts a fake on 127.0.0.1 with a free port. */
  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    let fake: FakeSlack | undefined;
    const server = createServer((request, response) => {
      if (fake === undefined) {
        response.writeHead(503).end('fake Slack is starting');
        return;
      }
      void fake.handleRequest(request, response);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    fake = new FakeSlack(server, options);
    return fake;
  }

  /** Returns a new `response_url` on this server. POSTs to it are recorded as `response_url` calls. */
  responseUrl(): string {
    const id = randomBytes(12).toString('hex');
    this.responseUrlIds.add(id);
    return `${this.origin}${RESPONSE_URL_PATH}${id}`;
  }

  /**
   * Issues a trigger id that `views.open` or `views.push` accepts once, within
   * {@link TRIGGER_ID_TTL_MS} of issue. The view it opens belongs to `userId` (see {@link lastView}).
   */
  issueTriggerId(userId?: string): string {
    this.triggerCount += 1;
    const seconds = Math.floor(this.now() / 1000);
    const triggerId = `${this.triggerCount}.${seconds}.${randomBytes(8).toString('hex')}`;
    this.triggers.set(triggerId, { issuedAt: this.now(), userId, exchanged: false });
    return triggerId;
  }

  /** Adds or replaces a user for `users.info`. Throws on a time zone that is not an IANA name. */
  setUser(user: FakeUser): void {
    const tz = user.tz ?? 'UTC';
    if (!IANAZone.isValidZone(tz)) {
      throw new Error(`setUser(${user.id}): invalid time zone "${tz}". Use an IANA name such as Europe/Paris.`);
    }
    this.users.set(user.id, { ...user, tz });
  }

  /** Sets the members of a user group for `usergroups.users.list`. */
  setUserGroup(id: string, userIds: string[]): void {
    this.userGroups.set(id, [...userIds]);
  }

  /** Makes every call that names this channel fail with `channel_not_found`. */
  setChannelMissing(id: string): void {
    this.missingChannels.add(id);
  }

  /** Makes posts to this channel fail with `not_in_channel`, as when the app was never invited. */
  setChannelNotMember(id: string): void {
    this.nonMemberChannels.add(id);
  }

  /** Undoes {@link setChannelMissing} and {@link setChannelNotMember} for a channel. */
  restoreChannel(id: string): void {
    this.missingChannels.delete(id);
    this.nonMemberChannels.delete(id);
  }

  /** Sets the WebSocket URL that `apps.connections.open` returns; unset, it fails with `internal_error`. */
  setSocketModeUrl(url: string | undefined): void {
    this.socketModeUrl = url;
  }

  /** Holds the next call of `method` until released, or drops it if the client disconnects first. */
  holdNext(method: string): HeldCall {
    let arrive = () => undefined as void;
    let drop = (_dropped: boolean) => undefined as void;
    let release = () => undefined as void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const dropped = new Promise<boolean>((resolve) => (drop = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const queue = this.holds.get(method) ?? [];
    queue.push({ arrive, drop, released });
    this.holds.set(method, queue);
    return { arrived, dropped, release: () => release() };
  }

  /** Returns the direct message channel id the fake uses for a user. */
  dmChannelId(userId: string): string {
    return dmChannelIdFor(userId);
  }

  /** Returns the recorded calls, all or of one method, oldest first. */
  calls(method?: string): RecordedCall[] {
    return this.recorded.filter((call) => method === undefined || call.method === method);
  }

  /** Returns the recorded calls that failed, with a non-200 status or `ok: false`. */
  rejectedCalls(): RecordedCall[] {
    return this.recorded.filter((call) => call.status !== 200 || isFailedResponse(call.response));
  }

  /** Returns the `chat.postMessage` calls to a channel or, given a user id, to that user's DM. */
  messagesTo(channelOrUserId: string): RecordedCall[] {
    const target = this.resolveChannel(channelOrUserId) ?? channelOrUserId;
    return this.calls('chat.postMessage').filter((call) => {
      const channel = call.body.channel;
      return typeof channel === 'string' && (channel === target || this.resolveChannel(channel) === target);
    });
  }

  /** Returns the modal last opened, pushed or updated for a user, or for anyone when omitted. */
  lastView(userId?: string): FakeView | undefined {
    const id = userId === undefined ? this.lastModalId : this.lastModalIdByUser.get(userId);
    return id === undefined ? undefined : this.views.get(id);
  }

  /** Returns the Home tab last published for a user. */
  homeView(userId: string): FakeView | undefined {
    const id = this.homeViewIdByUser.get(userId);
    return id === undefined ? undefined : this.views.get(id);
  }

  /** Forgets the recorded calls. Users, groups, messages, views and triggers stay. */
  clear(): void {
    this.recorded.length = 0;
  }

  /**
   * Resolves with the first call of `method` that matches `predicate`, already recorded or
   * arriving within `timeoutMs` of real time. A predicate that throws counts as no match.
   */
  async waitFor(
    method: string,
    predicate?: (call: RecordedCall) => boolean,
    timeoutMs = DEFAULT_WAIT_TIMEOUT_MS,
  ): Promise<RecordedCall> {
    const [call] = await this.waitForCount(method, 1, predicate, timeoutMs);
    if (call === undefined) {
      throw new Error(`waitFor(${method}) resolved without a call`);
    }
    return call;
  }

  /** Resolves with the first `count` calls of `method` that match `predicate`, like {@link waitFor}. */
  async waitForCount(
    method: string,
    count: number,
    predicate?: (call: RecordedCall) => boolean,
    timeoutMs = DEFAULT_WAIT_TIMEOUT_MS,
  ): Promise<RecordedCall[]> {
    const matches = (call: RecordedCall): boolean => call.method === method && safeTest(predicate, call);
    const found = this.recorded.filter(matches);
    if (found.length >= count) {
      return found.slice(0, count);
    }

    return new Promise<RecordedCall[]>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        onCall: (call) => {
          if (!matches(call)) return;
          found.push(call);
          if (found.length < count) return;
          finish();
          resolve(found.slice(0, count));
        },
        onClose: () => {
          finish();
          reject(new Error(`fake Slack closed while waiting for ${count} × ${method}`));
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(this.describeTimeout(method, count, found.length, timeoutMs)));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Makes the next calls of `method` (or `response_url`) fail as described. */
  failNext(method: string, failure: InjectedFailure): void {
    const times = failure.times ?? 1;
    if (!Number.isInteger(times) || times < 1) {
      throw new Error(`failNext(${method}): times must be a positive integer, got ${times}`);
    }
    const queue = this.failures.get(method) ?? [];
    queue.push({ failure, remaining: times });
    this.failures.set(method, queue);
  }

  /** Stops the server, drops open connections and rejects pending waits. */
  async close(): Promise<void> {
    for (const waiter of [...this.waiters]) {
      waiter.onClose();
    }
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  // -------------------------------------------------------------------------------------------
  // HTTP plumbing.
  // -------------------------------------------------------------------------------------------

  private async handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const url = new URL(request.url ?? '/', this.origin);
      if (request.method !== 'POST') {
        sendReply(response, { status: 405, body: `fake Slack accepts POST only, got ${request.method}` });
        return;
      }
      const raw = await readBody(request);
      if (raw === undefined) {
        sendReply(response, { status: 413, body: `request body exceeds ${MAX_REQUEST_BYTES} bytes` });
        return;
      }
      if (url.pathname.startsWith('/api/')) {
        if (!(await this.waitIfHeld(url.pathname.slice('/api/'.length), request))) return;
        this.handleApiCall(url, request, raw, response);
      } else if (url.pathname.startsWith(RESPONSE_URL_PATH)) {
        this.handleResponseUrl(url, raw, response);
      } else {
        sendReply(response, { status: 404, body: `no such path on fake Slack: ${url.pathname}` });
      }
    } catch (error) {
      const message = error instanceof Error ? error.stack ?? error.message : String(error);
      sendReply(response, { status: 500, body: `fake Slack failed: ${message}` });
    }
  }

  // Resolves true when the call may go on: not held, or released while its client still waits.
  private async waitIfHeld(method: string, request: IncomingMessage): Promise<boolean> {
    const hold = this.holds.get(method)?.shift();
    if (hold === undefined) return true;
    hold.arrive();
    const closed = new Promise<'closed'>((resolve) => request.socket.once('close', () => resolve('closed')));
    const outcome = await Promise.race([hold.released.then(() => 'released' as const), closed]);
    hold.drop(outcome === 'closed');
    return outcome === 'released';
  }

  private handleApiCall(url: URL, request: IncomingMessage, raw: string, response: ServerResponse): void {
    const method = url.pathname.slice('/api/'.length);
    const parsed = parseApiArguments(request.headers['content-type'], raw);
    const body = withoutToken(parsed.args);
    const injected = this.takeInjectedFailure(method);
    if (injected === 'disconnect') {
      this.record({ method, body, url: url.href, at: this.now(), status: 0, response: 'connection closed by fake' });
      request.socket.destroy();
      return;
    }
    const reply =
      injected ??
      this.checkAuthentication(request, parsed.args, method) ??
      (parsed.error === undefined ? undefined : slackError(parsed.error)) ??
      this.dispatch(method, body);
    this.record({ method, body, url: url.href, at: this.now(), status: reply.status, response: reply.body });
    sendReply(response, reply);
  }

  private handleResponseUrl(url: URL, raw: string, response: ServerResponse): void {
    const id = url.pathname.slice(RESPONSE_URL_PATH.length);
    if (!this.responseUrlIds.has(id)) {
      sendReply(response, { status: 404, body: 'unknown response_url' });
      return;
    }
    const parsed = parseJsonObject(raw);
    const body = parsed ?? { unparsed: raw };
    const injected = this.takeInjectedFailure('response_url');
    const reply = (injected === 'disconnect' ? undefined : injected) ?? checkResponseUrlPayload(parsed);
    this.record({
      method: 'response_url',
      body,
      url: url.href,
      at: this.now(),
      status: reply.status,
      response: reply.body,
    });
    sendReply(response, reply);
  }

  private record(call: RecordedCall): void {
    this.recorded.push(call);
    for (const waiter of [...this.waiters]) {
      waiter.onCall(call);
    }
  }

  private takeInjectedFailure(method: string): Reply | 'disconnect' | undefined {
    const queue = this.failures.get(method);
    const head = queue?.[0];
    if (queue === undefined || head === undefined) {
      return undefined;
    }
    head.remaining -= 1;
    if (head.remaining === 0) {
      queue.shift();
    }
    return head.failure.disconnect === true ? 'disconnect' : injectedFailureReply(head.failure);
  }

  // Slack accepts the token as a Bearer header or as a `token` argument. It reports a missing or
  // wrong token with HTTP 200 and an error code.
  private checkAuthentication(request: IncomingMessage, args: JsonObject, method: string): Reply | undefined {
    const header = request.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    if (token === undefined || token === '') {
      return slackError('not_authed');
    }
    // apps.connections.open takes the app-level token; every other method the bot token.
    const expected = method === 'apps.connections.open' ? this.appToken : this.botToken;
    return token === expected ? undefined : slackError('invalid_auth');
  }

  private dispatch(method: string, args: JsonObject): Reply {
    const handler = this.handlers.get(method);
    return handler === undefined ? slackError('unknown_method') : handler(args);
  }

  private describeTimeout(method: string, count: number, matched: number, timeoutMs: number): string {
    const counts = new Map<string, number>();
    for (const call of this.recorded) {
      counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
    }
    const seen = [...counts].map(([name, n]) => (n === 1 ? name : `${name} ×${n}`)).join(', ');
    return (
      `timed out after ${timeoutMs} ms waiting for ${count} × ${method} (${matched} matched); ` +
      `recorded calls: ${seen === '' ? 'none' : seen}`
    );
  }

  // -------------------------------------------------------------------------------------------
  // Web API methods.
  // -------------------------------------------------------------------------------------------

  private authTest(): Reply {
    return slackOk({
      url: `https://${TEAM_DOMAIN}.slack.com/`,
      team: TEAM_NAME,
      user: 'pim',
      team_id: this.teamId,
      user_id: this.botUserId,
      bot_id: this.botId,
      is_enterprise_install: false,
    });
  }

  private postMessage(args: JsonObject): Reply {
    const channel = this.resolveChannel(args.channel);
    if (channel === undefined) {
      return slackError('channel_not_found');
    }
    if (this.nonMemberChannels.has(channel)) {
      return slackError('not_in_channel');
    }
    const invalid = checkMessageContent(args);
    if (invalid !== undefined) {
      return invalid;
    }
    const ts = this.nextMessageTs();
    const message = this.buildMessage(args, ts);
    this.messages.set(messageKey(channel, ts), message);
    return slackOk({ channel, ts, message });
  }

  private postEphemeral(args: JsonObject): Reply {
    const channel = this.resolveChannel(args.channel);
    if (channel === undefined) {
      return slackError('channel_not_found');
    }
    if (!isUserId(args.user)) {
      return slackError('user_not_found');
    }
    const invalid = checkMessageContent(args);
    return invalid ?? slackOk({ message_ts: this.nextMessageTs() });
  }

  private updateMessage(args: JsonObject): Reply {
    const channel = this.resolveChannel(args.channel);
    if (channel === undefined) {
      return slackError('channel_not_found');
    }
    const ts = typeof args.ts === 'string' ? args.ts : '';
    const existing = this.messages.get(messageKey(channel, ts));
    if (existing === undefined) {
      return slackError('message_not_found');
    }
    const invalid = checkMessageContent(args);
    if (invalid !== undefined) {
      return invalid;
    }
    const message = this.buildMessage(args, ts);
    this.messages.set(messageKey(channel, ts), message);
    return slackOk({ channel, ts, text: message.text, message });
  }

  private deleteMessage(args: JsonObject): Reply {
    const channel = this.resolveChannel(args.channel);
    if (channel === undefined) {
      return slackError('channel_not_found');
    }
    const ts = typeof args.ts === 'string' ? args.ts : '';
    if (!this.messages.delete(messageKey(channel, ts))) {
      return slackError('message_not_found');
    }
    return slackOk({ channel, ts });
  }

  // views.open and views.push: both exchange a trigger id for a new modal.
  private openView(args: JsonObject): Reply {
    const invalid = checkViewArgument(args.view, 'modal');
    if (invalid !== undefined) {
      return invalid;
    }
    const trigger = this.exchangeTrigger(args.trigger_id ?? args.interactivity_pointer);
    if (typeof trigger === 'string') {
      return slackError(trigger);
    }
    const parent = this.lastView(trigger.userId);
    const id = this.nextViewId();
    const stored = this.storeView({
      id,
      userId: trigger.userId,
      hash: this.nextViewHash(),
      rootViewId: parent?.rootViewId ?? id,
      view: args.view as JsonObject,
    });
    return slackOk({ view: this.describeView(stored) });
  }

  private updateView(args: JsonObject): Reply {
    const existing = this.findViewToUpdate(args);
    if (!('id' in existing)) {
      return existing;
    }
    if (typeof args.hash === 'string' && args.hash !== existing.hash) {
      return slackError('hash_conflict');
    }
    const type: ViewType = existing.view.type === 'home' ? 'home' : 'modal';
    const invalid = checkViewArgument(args.view, type);
    if (invalid !== undefined) {
      return invalid;
    }
    const stored = this.storeView({ ...existing, hash: this.nextViewHash(), view: args.view as JsonObject });
    return slackOk({ view: this.describeView(stored) });
  }

  private publishView(args: JsonObject): Reply {
    if (typeof args.user_id !== 'string' || args.user_id === '') {
      return slackError('invalid_arguments', ['[ERROR] missing required field: user_id [json-pointer:/user_id]']);
    }
    if (!isUserId(args.user_id)) {
      return slackError('user_not_found');
    }
    const invalid = checkViewArgument(args.view, 'home');
    if (invalid !== undefined) {
      return invalid;
    }
    const existing = this.homeView(args.user_id);
    if (existing !== undefined && typeof args.hash === 'string' && args.hash !== existing.hash) {
      return slackError('hash_conflict');
    }
    // A user's Home tab keeps one view id across publishes.
    const id = existing?.id ?? this.nextViewId();
    const stored = this.storeView({
      id,
      userId: args.user_id,
      hash: this.nextViewHash(),
      rootViewId: id,
      view: args.view as JsonObject,
    });
    return slackOk({ view: this.describeView(stored) });
  }

  private userInfo(args: JsonObject): Reply {
    const user = typeof args.user === 'string' ? this.users.get(args.user) : undefined;
    if (user === undefined) {
      return slackError('user_not_found');
    }
    return slackOk({ user: this.describeUser(user) });
  }

  private openConversation(args: JsonObject): Reply {
    if (typeof args.channel === 'string') {
      const channel = this.resolveChannel(args.channel);
      return channel === undefined ? slackError('channel_not_found') : slackOk({ channel: { id: channel } });
    }
    const userIds = typeof args.users === 'string' ? args.users.split(',').filter((id) => id !== '') : [];
    if (userIds.length === 0) {
      return slackError('users_list_not_supplied');
    }
    if (!userIds.every(isUserId)) {
      return slackError('user_not_found');
    }
    const [only] = userIds;
    const id = userIds.length === 1 && only !== undefined ? dmChannelIdFor(only) : `G${userIds.join('')}`;
    return slackOk({ channel: { id } });
  }

  private conversationInfo(args: JsonObject): Reply {
    const channel = this.resolveChannel(args.channel);
    if (channel === undefined) {
      return slackError('channel_not_found');
    }
    return slackOk({ channel: { id: channel, is_archived: false, is_member: !this.nonMemberChannels.has(channel) } });
  }

  private openSocketConnection(): Reply {
    return this.socketModeUrl === undefined ? slackError('internal_error') : slackOk({ url: this.socketModeUrl });
  }

  private listUserGroupMembers(args: JsonObject): Reply {
    const members = typeof args.usergroup === 'string' ? this.userGroups.get(args.usergroup) : undefined;
    return members === undefined ? slackError('no_such_subteam') : slackOk({ users: [...members] });
  }

  // -------------------------------------------------------------------------------------------
  // State helpers.
  // -------------------------------------------------------------------------------------------

  // Returns the conversation id a `channel` argument names, or undefined when Slack would return
  // channel_not_found. A user id names the direct message channel with that user.
  private resolveChannel(channel: unknown): string | undefined {
    if (typeof channel !== 'string' || channel.length < 2 || this.missingChannels.has(channel)) {
      return undefined;
    }
    if (isUserId(channel)) {
      const dm = dmChannelIdFor(channel);
      return this.missingChannels.has(dm) ? undefined : dm;
    }
    return /^[CGD]/.test(channel) ? channel : undefined;
  }

  private exchangeTrigger(triggerId: unknown): IssuedTrigger | string {
    if (typeof triggerId !== 'string' || !TRIGGER_ID_PATTERN.test(triggerId)) {
      return 'invalid_trigger_id';
    }
    const trigger = this.triggers.get(triggerId);
    // Slack documents no separate code for a well-formed id it never issued.
    if (trigger === undefined) {
      return 'expired_trigger_id';
    }
    if (trigger.exchanged) {
      return 'exchanged_trigger_id';
    }
    if (this.now() - trigger.issuedAt > TRIGGER_ID_TTL_MS) {
      return 'expired_trigger_id';
    }
    trigger.exchanged = true;
    return trigger;
  }

  private findViewToUpdate(args: JsonObject): FakeView | Reply {
    if (typeof args.view_id === 'string') {
      return this.views.get(args.view_id) ?? slackError('not_found');
    }
    if (typeof args.external_id === 'string') {
      const match = [...this.views.values()].find((stored) => stored.view.external_id === args.external_id);
      return match ?? slackError('not_found');
    }
    return slackError('invalid_arguments', ['[ERROR] missing required field: view_id or external_id']);
  }

  private storeView(stored: FakeView): FakeView {
    this.views.set(stored.id, stored);
    if (stored.view.type === 'home' && stored.userId !== undefined) {
      this.homeViewIdByUser.set(stored.userId, stored.id);
    } else {
      this.lastModalIdByUser.set(stored.userId, stored.id);
      this.lastModalId = stored.id;
    }
    return stored;
  }

  private describeView(stored: FakeView): JsonObject {
    return {
      type: 'modal',
      blocks: [],
      private_metadata: '',
      callback_id: '',
      external_id: '',
      clear_on_close: false,
      notify_on_close: false,
      ...stored.view,
      id: stored.id,
      team_id: this.teamId,
      state: { values: {} },
      hash: stored.hash,
      root_view_id: stored.rootViewId,
      previous_view_id: null,
      app_id: DEFAULT_APP_ID,
      bot_id: this.botId,
    };
  }

  private describeUser(user: FakeUser): JsonObject {
    const tz = user.tz ?? 'UTC';
    const name = user.name ?? user.id.toLowerCase();
    const nowMs = this.now();
    return {
      id: user.id,
      team_id: this.teamId,
      name,
      real_name: name,
      deleted: user.deleted ?? false,
      is_bot: user.isBot ?? false,
      is_admin: false,
      is_owner: false,
      tz,
      tz_label: timeZoneLabel(tz, nowMs),
      tz_offset: user.tzOffsetSeconds ?? IANAZone.create(tz).offset(nowMs) * 60,
      profile: { real_name: name, display_name: name, team: this.teamId },
    };
  }

  private buildMessage(args: JsonObject, ts: string): JsonObject {
    return {
      type: 'message',
      text: typeof args.text === 'string' ? args.text : '',
      user: this.botUserId,
      bot_id: this.botId,
      app_id: DEFAULT_APP_ID,
      team: this.teamId,
      ts,
      ...(args.blocks === undefined ? {} : { blocks: args.blocks }),
      ...(args.attachments === undefined ? {} : { attachments: args.attachments }),
      ...(typeof args.thread_ts === 'string' ? { thread_ts: args.thread_ts } : {}),
    };
  }

  private nextMessageTs(): string {
    this.messageCount += 1;
    const totalMicroseconds = this.messageCount * TS_STEP_MICROSECONDS;
    const seconds = FIRST_TS_SECONDS + Math.floor(totalMicroseconds / 1_000_000);
    const micros = String(totalMicroseconds % 1_000_000).padStart(6, '0');
    return `${seconds}.${micros}`;
  }

  private nextViewId(): string {
    this.viewCount += 1;
    return `V${String(this.viewCount).padStart(7, '0')}`;
  }

  private nextViewHash(): string {
    return `${Math.floor(this.now() / 1000)}.${randomBytes(4).toString('hex')}`;
  }
}

/** Returns the direct message channel id the fake assigns to a user id. */
export function dmChannelIdFor(userId: string): string {
  return `D${userId}`;
}

// ---------------------------------------------------------------------------------------------
// Request parsing and replies.
// ---------------------------------------------------------------------------------------------

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_REQUEST_BYTES) {
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// Parses a form or JSON body. `error` is the Slack error code to return when it cannot be read.
function parseApiArguments(contentType: string | undefined, raw: string): { args: JsonObject; error?: string } {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let args: JsonObject;
  if (type === 'application/json') {
    const parsed = parseJsonObject(raw);
    if (parsed === undefined) {
      return { args: {}, error: 'invalid_json' };
    }
    args = parsed;
  } else if (type === 'application/x-www-form-urlencoded' || type === '') {
    args = Object.fromEntries(new URLSearchParams(raw));
  } else {
    return { args: {}, error: 'invalid_form_data' };
  }

  for (const [field, errorCode] of Object.entries(JSON_ENCODED_FIELDS)) {
    const value = args[field];
    if (typeof value !== 'string') continue;
    try {
      args[field] = JSON.parse(value) as unknown;
    } catch {
      return { args, error: errorCode };
    }
  }
  return { args };
}

function parseJsonObject(raw: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function withoutToken(args: JsonObject): JsonObject {
  const { token: _token, ...rest } = args;
  return rest;
}

function sendReply(response: ServerResponse, reply: Reply): void {
  const isText = typeof reply.body === 'string';
  const payload = isText ? (reply.body as string) : JSON.stringify(reply.body);
  response.writeHead(reply.status, {
    'Content-Type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    ...reply.headers,
  });
  response.end(payload);
}

function slackOk(fields: JsonObject): Reply {
  return { status: 200, body: { ok: true, ...fields } };
}

// Slack reports Block Kit problems in response_metadata.messages, one line per problem.
function slackError(error: string, messages?: string[]): Reply {
  const body: JsonObject = { ok: false, error };
  if (messages !== undefined && messages.length > 0) {
    body.response_metadata = { messages };
  }
  return { status: 200, body };
}

function injectedFailureReply(failure: InjectedFailure): Reply {
  const status = failure.status ?? (failure.retryAfterSeconds === undefined ? 200 : 429);
  if (status === 429) {
    const retryAfterSeconds = failure.retryAfterSeconds ?? 1;
    return {
      status,
      body: { ok: false, error: 'ratelimited' },
      headers: { 'Retry-After': String(retryAfterSeconds) },
    };
  }
  if (status >= 500) {
    return { status, body: `fake Slack: injected HTTP ${status}` };
  }
  return { status, body: { ok: false, error: failure.error ?? 'fatal_error' } };
}

function isFailedResponse(response: JsonObject | string): boolean {
  return typeof response === 'string' || response.ok !== true;
}

function safeTest(predicate: ((call: RecordedCall) => boolean) | undefined, call: RecordedCall): boolean {
  if (predicate === undefined) {
    return true;
  }
  try {
    return predicate(call);
  } catch {
    return false;
  }
}

function messageKey(channel: string, ts: string): string {
  return `${channel}/${ts}`;
}

function isUserId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 1 && (value.startsWith('U') || value.startsWith('W'));
}

function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function timeZoneLabel(tz: string, atMs: number): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'long' }).formatToParts(atMs);
  return parts.find((part) => part.type === 'timeZoneName')?.value ?? tz;
}

// ---------------------------------------------------------------------------------------------
// Limit checks. Each check appends Slack-style lines such as
// "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]".
// ---------------------------------------------------------------------------------------------

// Checks the content of chat.postMessage, chat.postEphemeral and chat.update.
function checkMessageContent(args: JsonObject): Reply | undefined {
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

// NOTE: Slack does not document how a response_url responds to a payload it rejects. The fake
// returns HTTP 400 with Slack's error code, so Bolt's respond() throws and the test fails.
function checkResponseUrlPayload(payload: JsonObject | undefined): Reply {
  if (payload === undefined) {
    return { status: 400, body: { ok: false, error: 'invalid_json' } };
  }
  if (payload.delete_original === true) {
    return slackOk({});
  }
  const invalid = checkMessageContent(payload);
  return invalid === undefined ? slackOk({}) : { ...invalid, status: 400 };
}

// Checks a view argument of views.open, views.push, views.update or views.publish. Slack reports
// view problems as invalid_arguments with /view/… pointers, unlike messages (invalid_blocks).
function checkViewArgument(view: unknown, expectedType: ViewType): Reply | undefined {
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
    case 'actions':
      checkItemCount(block.elements, ACTIONS_MAX_ELEMENTS, `${pointer}/elements`, problems);
      forEachItem(block.elements, `${pointer}/elements`, (element, at) => checkElement(element, at, problems));
      break;
    case 'input':
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

  if (element.type === 'button') {
    checkTextObject(element.text, BUTTON_TEXT_MAX_CHARS, `${pointer}/text`, problems);
    checkString(element.value, BUTTON_VALUE_MAX_CHARS, `${pointer}/value`, problems);
    checkString(element.url, BUTTON_URL_MAX_CHARS, `${pointer}/url`, problems);
    return;
  }
  if (element.type === 'static_select' || element.type === 'multi_static_select') {
    checkTextObject(element.placeholder, SELECT_PLACEHOLDER_MAX_CHARS, `${pointer}/placeholder`, problems);
    checkItemCount(element.options, SELECT_MAX_OPTIONS, `${pointer}/options`, problems);
    checkItemCount(element.option_groups, SELECT_MAX_OPTION_GROUPS, `${pointer}/option_groups`, problems);
    forEachItem(element.option_groups, `${pointer}/option_groups`, (group, at) => {
      if (isRecord(group)) {
        checkItemCount(group.options, SELECT_MAX_OPTIONS, `${at}/options`, problems);
        forEachItem(group.options, `${at}/options`, (option, optionAt) => checkOption(option, optionAt, problems));
      }
    });
  }
  // Options of any element (selects, overflow menus, radio buttons, checkboxes) share one shape.
  forEachItem(element.options, `${pointer}/options`, (option, at) => checkOption(option, at, problems));
  checkOption(element.initial_option, `${pointer}/initial_option`, problems);
  forEachItem(element.initial_options, `${pointer}/initial_options`, (option, at) => checkOption(option, at, problems));
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

// NOTE: Slack does not say whether its limits count code points or UTF-16 units. This counts code
// points; the two differ only for characters outside the Basic Multilingual Plane, such as emoji.
function countCharacters(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}
