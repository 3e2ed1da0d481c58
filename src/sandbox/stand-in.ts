/**
 * The stand-in for Slack's side of an app: the Web API under `/api/` and the `response_url`s it
 * issues under `/response/`, over one workspace. It records every request and rejects what Slack
 * would reject, with Slack's error codes, so a mistake shows here instead of in a real workspace.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkResponseUrlPayload } from './block-kit-checks.js';
import { CallLog, type RecordedCall } from './call-log.js';
import {
  MAX_REQUEST_BYTES,
  parseJsonObject,
  readBody,
  sendReply,
  slackError,
  type JsonObject,
  type Reply,
} from './http-io.js';
import { TriggerStore, type ResponseTarget } from './triggers.js';
import { ViewStore } from './views.js';
import { messageContent, WebApiMethods, type WorkspaceIdentity } from './web-api.js';
import { Workspace } from './workspace.js';

export const API_PATH = '/api/';
export const RESPONSE_URL_PATH = '/response/';

export const DEFAULT_BOT_USER_ID = 'UBOT';
export const DEFAULT_BOT_ID = 'BBOT';
export const DEFAULT_TEAM_ID = 'T0TEST';
export const DEFAULT_APP_ID = 'A0TEST';
export const DEFAULT_TEAM_DOMAIN = 'pim-test';
const DEFAULT_TEAM_NAME = 'slack-pim tests';

// Argument fields that @slack/web-api sends as JSON strings inside a form body, with the error
// code Slack returns when one is not valid JSON.
const JSON_ENCODED_FIELDS = {
  blocks: 'invalid_blocks_format',
  attachments: 'invalid_attachments',
  view: 'invalid_arguments',
} as const;

/** Options of a {@link SlackStandIn}. */
export interface SlackStandInOptions {
  /** Origin the stand-in is reached at, such as `http://127.0.0.1:3000`. */
  origin: string;
  /** Bot token the Web API accepts; a random one when omitted. */
  botToken?: string;
  /** App-level token that `apps.connections.open` accepts; a random one when omitted. */
  appToken?: string;
  botUserId?: string;
  botId?: string;
  teamId?: string;
  teamName?: string;
  teamDomain?: string;
  /** Clock in milliseconds since the epoch. Inject one to test trigger expiry without waiting. */
  now?: () => number;
  /** Calls kept in the log; unbounded when omitted. */
  maxRecordedCalls?: number;
}

/** A failure that {@link SlackStandIn.failNext} injects into the next calls of one method. */
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
 * A call that {@link SlackStandIn.holdNext} keeps waiting before the stand-in looks at it, as if
 * it had not reached Slack yet. It is recorded and answered only when released, and dropped
 * unrecorded when the client goes away first (a crash before Slack got the request).
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
  /** Filter on the arguments of the calls the hold takes. When unset, it takes any call of its method. */
  matches: ((args: JsonObject) => boolean) | undefined;
  arrive(): void;
  drop(dropped: boolean): void;
  released: Promise<void>;
}

interface PendingFailure {
  failure: InjectedFailure;
  remaining: number;
}

/** Slack's Web API and response URLs over one in-memory workspace. */
export class SlackStandIn {
  /** Base URL to pass as the WebClient `slackApiUrl`, ending in `/api/`. */
  readonly apiUrl: string;
  readonly botToken: string;
  readonly appToken: string;
  readonly identity: WorkspaceIdentity;
  readonly workspace: Workspace;
  readonly views: ViewStore;
  readonly triggers: TriggerStore;
  readonly log: CallLog;
  readonly api: WebApiMethods;
  readonly now: () => number;

  private readonly origin: string;
  private readonly failures = new Map<string, PendingFailure[]>();
  private readonly holds = new Map<string, PendingHold[]>();

  constructor(options: SlackStandInOptions) {
    this.origin = options.origin;
    this.apiUrl = `${options.origin}${API_PATH}`;
    this.botToken = options.botToken ?? `xoxb-sandbox-${randomBytes(12).toString('hex')}`;
    this.appToken = options.appToken ?? `xapp-sandbox-${randomBytes(12).toString('hex')}`;
    this.now = options.now ?? Date.now;
    this.identity = {
      botUserId: options.botUserId ?? DEFAULT_BOT_USER_ID,
      botId: options.botId ?? DEFAULT_BOT_ID,
      teamId: options.teamId ?? DEFAULT_TEAM_ID,
      teamName: options.teamName ?? DEFAULT_TEAM_NAME,
      teamDomain: options.teamDomain ?? DEFAULT_TEAM_DOMAIN,
      appId: DEFAULT_APP_ID,
    };
    this.workspace = new Workspace(this.now);
    this.views = new ViewStore(this.workspace, this.now);
    this.triggers = new TriggerStore(this.now);
    this.log = new CallLog(options.maxRecordedCalls);
    this.api = new WebApiMethods(this.identity, this.workspace, this.views, this.triggers, this.now);
  }

  /** Returns a new `response_url`. POSTs to it are recorded as `response_url` calls. */
  responseUrl(target: ResponseTarget = {}): string {
    return `${this.origin}${RESPONSE_URL_PATH}${this.triggers.issueResponseUrl(target)}`;
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

  /** Forgets the failures injected for `method` that no call has taken yet. */
  clearFailures(method: string): void {
    this.failures.delete(method);
  }

  /**
   * Holds the next call of `method` (of those whose arguments `matches` accepts, when given) until
   * released, or drops it if the client disconnects first.
   */
  holdNext(method: string, matches?: (args: JsonObject) => boolean): HeldCall {
    let arrive = (): void => undefined;
    let drop = (_dropped: boolean): void => undefined;
    let release = (): void => undefined;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const dropped = new Promise<boolean>((resolve) => (drop = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const queue = this.holds.get(method) ?? [];
    queue.push({ matches, arrive, drop, released });
    this.holds.set(method, queue);
    return { arrived, dropped, release: () => release() };
  }

  /** Forgets messages, views, trigger ids, response URLs and recorded calls; members stay. */
  reset(): void {
    this.views.clear();
    this.triggers.clear();
    this.log.clear();
    this.workspace.clearMessages();
  }

  /**
   * Serves a request when its path belongs to the stand-in and returns true; returns false,
   * having read nothing, for any other path.
   */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const url = new URL(request.url ?? '/', this.origin);
    const isApi = url.pathname.startsWith(API_PATH);
    if (!isApi && !url.pathname.startsWith(RESPONSE_URL_PATH)) {
      return false;
    }
    try {
      if (request.method !== 'POST') {
        sendReply(response, { status: 405, body: `the Slack stand-in accepts POST only, got ${request.method}` });
        return true;
      }
      const raw = await readBody(request);
      if (raw === undefined) {
        sendReply(response, { status: 413, body: `request body exceeds ${MAX_REQUEST_BYTES} bytes` });
      } else if (isApi) {
        if (await this.waitIfHeld(url.pathname.slice(API_PATH.length), request, raw)) {
          this.handleApiCall(url, request, raw, response);
        }
      } else {
        this.handleResponseUrl(url, raw, response);
      }
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      sendReply(response, { status: 500, body: `the Slack stand-in failed: ${message}` });
    }
    return true;
  }

  private handleApiCall(url: URL, request: IncomingMessage, raw: string, response: ServerResponse): void {
    const method = url.pathname.slice(API_PATH.length);
    const parsed = parseApiArguments(request.headers['content-type'], raw);
    const body = withoutToken(parsed.args);
    const injected = this.takeInjectedFailure(method);
    if (injected === 'disconnect') {
      this.record({ method, body, url: url.href, at: this.now(), status: 0, response: 'connection closed by the stand-in' });
      request.socket.destroy();
      return;
    }
    const reply =
      injected ??
      this.checkAuthentication(request, parsed.args, method) ??
      (parsed.error === undefined ? undefined : slackError(parsed.error)) ??
      this.api.dispatch(method, body);
    this.record({ method, body, url: url.href, at: this.now(), status: reply.status, response: reply.body });
    sendReply(response, reply);
  }

  private handleResponseUrl(url: URL, raw: string, response: ServerResponse): void {
    const id = url.pathname.slice(RESPONSE_URL_PATH.length);
    if (!this.triggers.knowsResponseUrl(id)) {
      sendReply(response, { status: 404, body: 'unknown response_url' });
      return;
    }
    const parsed = parseJsonObject(raw);
    const body = parsed ?? { unparsed: raw };
    const injected = this.takeInjectedFailure('response_url');
    const reply = (injected === 'disconnect' ? undefined : injected) ?? this.applyResponse(id, parsed);
    this.record({ method: 'response_url', body, url: url.href, at: this.now(), status: reply.status, response: reply.body });
    sendReply(response, reply);
  }

  // A response_url message is ephemeral unless `response_type` is `in_channel`; `replace_original`
  // and `delete_original` change the message that the interaction came from.
  private applyResponse(id: string, payload: JsonObject | undefined): Reply {
    const checked = checkResponseUrlPayload(payload);
    if (checked.status !== 200 || payload === undefined) {
      return checked;
    }
    const target = this.triggers.useResponseUrl(id);
    if (typeof target === 'string') {
      return { status: 404, body: { ok: false, error: target } };
    }
    const { userId, channelId, messageTs } = target;
    if (channelId === undefined) {
      return checked;
    }
    if (payload.delete_original === true) {
      if (messageTs !== undefined) this.workspace.deleteMessage(channelId, messageTs);
      return checked;
    }
    const content = messageContent(payload);
    if (payload.replace_original === true && messageTs !== undefined) {
      if (this.workspace.replaceMessage(channelId, messageTs, content) !== undefined) return checked;
    }
    const ephemeral = payload.response_type !== 'in_channel' && userId !== undefined;
    this.workspace.addMessage({
      channel: channelId,
      userId: this.identity.botUserId,
      ...content,
      ...(ephemeral ? { ephemeralTo: userId } : {}),
    });
    return checked;
  }

  private record(call: RecordedCall): void {
    this.log.record(call);
  }

  // Resolves true when the call may go on: not held, or released while its client still waits.
  private async waitIfHeld(method: string, request: IncomingMessage, raw: string): Promise<boolean> {
    const queue = this.holds.get(method) ?? [];
    const args = queue.some((pending) => pending.matches !== undefined)
      ? parseApiArguments(request.headers['content-type'], raw).args
      : {};
    const index = queue.findIndex((pending) => pending.matches === undefined || pending.matches(args));
    if (index === -1) return true;
    const [hold] = queue.splice(index, 1);
    if (hold === undefined) return true;
    hold.arrive();
    const closed = new Promise<'closed'>((resolve) => request.socket.once('close', () => resolve('closed')));
    const outcome = await Promise.race([hold.released.then(() => 'released' as const), closed]);
    hold.drop(outcome === 'closed');
    return outcome === 'released';
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

function withoutToken(args: JsonObject): JsonObject {
  const { token: _token, ...rest } = args;
  return rest;
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

