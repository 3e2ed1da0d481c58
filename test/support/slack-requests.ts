/**
 * Builders and a sender for signed requests to a Bolt app's `POST /slack/events`, shaped like the
 * slash commands, interactions and events Slack sends.
 *
 * Signing follows https://docs.slack.dev/authentication/verifying-requests-from-slack: the
 * `X-Slack-Signature` header is `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` keyed with
 * the app's signing secret, and `X-Slack-Request-Timestamp` carries the timestamp in seconds.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_APP_ID,
  DEFAULT_BOT_ID,
  DEFAULT_BOT_USER_ID,
  DEFAULT_TEAM_ID,
  dmChannelIdFor,
  TEAM_DOMAIN,
  type FakeSlack,
} from './fake-slack.js';

/** The legacy verification token Slack still sends in payloads. Bolt does not check it. */
export const VERIFICATION_TOKEN = 'fake-verification-token';
export const DEFAULT_CHANNEL_ID = 'C0GENERAL';
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const EVENTS_PATH = '/slack/events';

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
const JSON_CONTENT_TYPE = 'application/json';
const DEFAULT_CHANNEL_NAME = 'general';
const DEFAULT_BLOCK_ID = 'actions';
const DEFAULT_VIEW_ID = 'V0000000';
const DEFAULT_VIEW_HASH = '1700000000.00000000';
// Timestamp of the message a block action comes from when the caller names none.
const DEFAULT_MESSAGE_TS = '1700000000.000100';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

type JsonObject = Record<string, unknown>;

/** HTTP response of the app to one signed request. */
export interface SignedResponse {
  status: number;
  /** Raw response body. */
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
  /** Time from sending the request to reading the whole response. */
  elapsedMs: number;
}

/** Options of {@link postSigned}. */
export interface PostSignedOptions {
  /** Request timestamp in seconds, now by default. Set an old one to test replay protection. */
  timestamp?: number;
  /** Signature header to send in place of the computed one. */
  signature?: string;
  timeoutMs?: number;
}

/** Fields of a slash command request. */
export interface SlashCommandOptions {
  userId: string;
  text: string;
  triggerId: string;
  responseUrl: string;
  teamId?: string;
  channelId?: string;
  /** Defaults to `/pim`. */
  command?: string;
}

/** Fields of a `block_actions` interaction with one action. */
export interface BlockActionOptions {
  userId: string;
  actionId: string;
  triggerId: string;
  blockId?: string;
  /** Button value. */
  value?: string;
  /** Chosen option of a select menu. Its `text` defaults to its `value`. */
  selectedOption?: { value: string; text?: string };
  /** Element type: `static_select` by default when `selectedOption` is set, else `button`. */
  actionType?: string;
  /** Message interactions carry one, but interactions inside a modal do not. */
  responseUrl?: string;
  teamId?: string;
  channelId?: string;
  /** Defaults to the view when `view` is given, else to the message. */
  container?: JsonObject;
  /** Message the action was taken in. */
  message?: JsonObject;
  /** Modal or Home tab the action was taken in. */
  view?: JsonObject;
  /** `state.values` of the surface, for actions in modals. */
  stateValues?: JsonObject;
}

/** The submitted modal of a `view_submission`. */
export interface SubmittedView {
  /** Defaults to `V0000000`. Pass the id `views.open` returned when the app updates the view later. */
  id?: string;
  callbackId: string;
  privateMetadata?: string;
  /** `state.values`: block id → action id → element state, as Slack sends it. */
  values: JsonObject;
  hash?: string;
  externalId?: string;
  rootViewId?: string;
  blocks?: unknown[];
}

/** Fields of a `view_submission` interaction. */
export interface ViewSubmissionOptions {
  userId: string;
  view: SubmittedView;
  triggerId: string;
  teamId?: string;
}

/** Fields of an Events API `event_callback` envelope. */
export interface EventEnvelopeOptions {
  event: JsonObject;
  teamId?: string;
  /** Defaults to a new unique id. */
  eventId?: string;
  /** Seconds since the epoch, now by default. */
  eventTime?: number;
}

/** Where a {@link SlackSender} sends requests and which fake issues its trigger ids. */
export interface SlackSenderOptions {
  /** Origin of the app, such as `http://127.0.0.1:3000`. Requests go to `{baseUrl}/slack/events`. */
  baseUrl: string;
  signingSecret: string;
  fake: FakeSlack;
  teamId?: string;
}

/** Result of {@link SlackSender.command}. */
export interface CommandResult extends SignedResponse {
  triggerId: string;
  responseUrl: string;
}

/** Result of {@link SlackSender.action}. */
export interface ActionResult extends SignedResponse {
  triggerId: string;
  responseUrl: string | undefined;
}

/** Result of {@link SlackSender.submitView}. */
export interface SubmitViewResult extends SignedResponse {
  triggerId: string;
  view: SubmittedView;
}

let eventCount = 0;

// ---------------------------------------------------------------------------------------------
// Signing and sending.
// ---------------------------------------------------------------------------------------------

/** Computes Slack's v0 request signature of a raw body. */
export function sign(secret: string, timestamp: number | string, rawBody: string): string {
  const digest = createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex');
  return `v0=${digest}`;
}

/** Returns the two headers Slack adds to a signed request. */
export function signatureHeaders(secret: string, timestamp: number, rawBody: string): Record<string, string> {
  return {
    'X-Slack-Signature': sign(secret, timestamp, rawBody),
    'X-Slack-Request-Timestamp': String(timestamp),
  };
}

/** Sends a signed POST to a loopback URL and reads the whole response. */
export async function postSigned(
  url: string,
  rawBody: string,
  contentType: string,
  secret: string,
  options: PostSignedOptions = {},
): Promise<SignedResponse> {
  assertLoopback(url);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers = signatureHeaders(secret, timestamp, rawBody);
  if (options.signature !== undefined) {
    headers['X-Slack-Signature'] = options.signature;
  }

  const startedAt = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': contentType },
    body: rawBody,
    signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
  });
  const body = await response.text();
  const elapsedMs = performance.now() - startedAt;
  const json = parseJson(body);
  const result: SignedResponse = { status: response.status, body, elapsedMs };
  if (json !== undefined) {
    result.json = json;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Payload builders.
// ---------------------------------------------------------------------------------------------

/** Builds the form body of a slash command, with the fields and order Slack sends. */
export function slashCommandBody(options: SlashCommandOptions): string {
  return new URLSearchParams({
    token: VERIFICATION_TOKEN,
    team_id: options.teamId ?? DEFAULT_TEAM_ID,
    team_domain: TEAM_DOMAIN,
    channel_id: options.channelId ?? DEFAULT_CHANNEL_ID,
    channel_name: DEFAULT_CHANNEL_NAME,
    user_id: options.userId,
    user_name: userNameOf(options.userId),
    command: options.command ?? '/pim',
    text: options.text,
    api_app_id: DEFAULT_APP_ID,
    is_enterprise_install: 'false',
    response_url: options.responseUrl,
    trigger_id: options.triggerId,
  }).toString();
}

/** Builds the form body (`payload=<json>`) of a `block_actions` interaction. */
export function blockActionsBody(options: BlockActionOptions): string {
  const teamId = options.teamId ?? DEFAULT_TEAM_ID;
  const channelId = options.channelId ?? DEFAULT_CHANNEL_ID;
  const inView = options.view !== undefined;
  const message = inView ? options.message : (options.message ?? { type: 'message', ts: DEFAULT_MESSAGE_TS, text: '' });

  const payload: JsonObject = {
    type: 'block_actions',
    user: userOf(options.userId, teamId),
    api_app_id: DEFAULT_APP_ID,
    token: VERIFICATION_TOKEN,
    container: options.container ?? defaultContainer(options.view, message, channelId),
    trigger_id: options.triggerId,
    team: { id: teamId, domain: TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    ...(message === undefined ? {} : { message, channel: { id: channelId, name: DEFAULT_CHANNEL_NAME } }),
    ...(inView ? { view: options.view } : {}),
    ...(options.stateValues === undefined ? {} : { state: { values: options.stateValues } }),
    ...(options.responseUrl === undefined ? {} : { response_url: options.responseUrl }),
    actions: [actionOf(options)],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** Builds the form body (`payload=<json>`) of a `view_submission` interaction. */
export function viewSubmissionBody(options: ViewSubmissionOptions): string {
  const teamId = options.teamId ?? DEFAULT_TEAM_ID;
  const { view } = options;
  const viewId = view.id ?? DEFAULT_VIEW_ID;
  const payload = {
    type: 'view_submission',
    team: { id: teamId, domain: TEAM_DOMAIN },
    user: userOf(options.userId, teamId),
    api_app_id: DEFAULT_APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: options.triggerId,
    view: {
      id: viewId,
      team_id: teamId,
      type: 'modal',
      blocks: view.blocks ?? [],
      private_metadata: view.privateMetadata ?? '',
      callback_id: view.callbackId,
      state: { values: view.values },
      hash: view.hash ?? DEFAULT_VIEW_HASH,
      title: { type: 'plain_text', text: 'PIM' },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: null,
      previous_view_id: null,
      root_view_id: view.rootViewId ?? viewId,
      app_id: DEFAULT_APP_ID,
      external_id: view.externalId ?? '',
      app_installed_team_id: teamId,
      bot_id: DEFAULT_BOT_ID,
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** Builds the JSON body of an Events API `event_callback` envelope. */
export function eventBody(options: EventEnvelopeOptions): string {
  const teamId = options.teamId ?? DEFAULT_TEAM_ID;
  return JSON.stringify({
    token: VERIFICATION_TOKEN,
    team_id: teamId,
    api_app_id: DEFAULT_APP_ID,
    event: options.event,
    type: 'event_callback',
    event_id: options.eventId ?? newEventId(),
    event_time: options.eventTime ?? Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: teamId,
        user_id: DEFAULT_BOT_USER_ID,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  });
}

/** Builds an `app_home_opened` event for a user's Home tab. */
export function appHomeOpened(userId: string): JsonObject {
  return {
    type: 'app_home_opened',
    user: userId,
    channel: dmChannelIdFor(userId),
    tab: 'home',
    event_ts: eventTimestamp(),
  };
}

/**
 * Builds a `subteam_members_changed` event: the users added to and removed from a user group, as
 * Slack reports them (https://docs.slack.dev/reference/events/subteam_members_changed).
 */
export function subteamMembersChanged(groupId: string, change: { added?: string[]; removed?: string[] }): JsonObject {
  const added = change.added ?? [];
  const removed = change.removed ?? [];
  const now = Math.floor(Date.now() / 1000);
  return {
    type: 'subteam_members_changed',
    subteam_id: groupId,
    team_id: DEFAULT_TEAM_ID,
    date_previous_update: now - 60,
    date_update: now,
    added_users: added,
    added_users_count: String(added.length),
    removed_users: removed,
    removed_users_count: String(removed.length),
    event_ts: eventTimestamp(),
  };
}

/**
 * Builds a `subteam_updated` event with the whole group; `disabled` sets `date_delete`, as when
 * an administrator disables the group (https://docs.slack.dev/reference/events/subteam_updated).
 */
export function subteamUpdated(groupId: string, members: string[], options: { disabled?: boolean } = {}): JsonObject {
  const now = Math.floor(Date.now() / 1000);
  return {
    type: 'subteam_updated',
    subteam: {
      id: groupId,
      team_id: DEFAULT_TEAM_ID,
      is_usergroup: true,
      is_subteam: true,
      name: groupId.toLowerCase(),
      description: '',
      handle: groupId.toLowerCase(),
      is_external: false,
      date_create: now - 86_400,
      date_update: now,
      date_delete: options.disabled === true ? now : 0,
      auto_type: null,
      auto_provision: false,
      enterprise_subteam_id: '',
      created_by: 'USLACKBOT',
      updated_by: 'USLACKBOT',
      deleted_by: options.disabled === true ? 'USLACKBOT' : null,
      prefs: { channels: [], groups: [] },
      users: members,
      user_count: members.length,
      channel_count: 0,
    },
    event_ts: eventTimestamp(),
  };
}

// ---------------------------------------------------------------------------------------------
// Sender.
// ---------------------------------------------------------------------------------------------

/** Sends signed requests to one Bolt app, with trigger ids and response URLs from a fake Slack. */
export class SlackSender {
  private readonly url: string;
  private readonly signingSecret: string;
  private readonly fake: FakeSlack;
  private readonly teamId: string;

  constructor(options: SlackSenderOptions) {
    this.url = new URL(EVENTS_PATH, options.baseUrl).href;
    this.signingSecret = options.signingSecret;
    this.fake = options.fake;
    this.teamId = options.teamId ?? options.fake.teamId;
  }

  /** Sends a slash command, where `text` is what the user typed after the command. */
  async command(
    userId: string,
    text: string,
    options: { command?: string; channelId?: string } = {},
  ): Promise<CommandResult> {
    const triggerId = this.fake.issueTriggerId(userId);
    const responseUrl = this.fake.responseUrl();
    const body = slashCommandBody({ userId, text, triggerId, responseUrl, teamId: this.teamId, ...options });
    const result = await this.post(body, FORM_CONTENT_TYPE);
    return { ...result, triggerId, responseUrl };
  }

  /** Sends a `block_actions` interaction. A message action also gets a response URL. */
  async action(
    userId: string,
    options: Omit<BlockActionOptions, 'userId' | 'triggerId' | 'responseUrl' | 'teamId'>,
  ): Promise<ActionResult> {
    const triggerId = this.fake.issueTriggerId(userId);
    const responseUrl = options.view === undefined ? this.fake.responseUrl() : undefined;
    const body = blockActionsBody({ ...options, userId, triggerId, responseUrl, teamId: this.teamId });
    const result = await this.post(body, FORM_CONTENT_TYPE);
    return { ...result, triggerId, responseUrl };
  }

  /**
   * Submits a modal. Fields not given come from the modal the fake last opened for the user, so
   * `private_metadata`, `callback_id` and the view id match what the app sent.
   */
  async submitView(
    userId: string,
    view: Partial<SubmittedView> & { values: JsonObject },
  ): Promise<SubmitViewResult> {
    const submitted = this.completeSubmittedView(userId, view);
    const triggerId = this.fake.issueTriggerId(userId);
    const body = viewSubmissionBody({ userId, view: submitted, triggerId, teamId: this.teamId });
    const result = await this.post(body, FORM_CONTENT_TYPE);
    return { ...result, triggerId, view: submitted };
  }

  /**
   * Sends an Events API event inside an `event_callback` envelope. Pass the `eventId` of an
   * event already sent to send it again, as Slack does when it retries.
   */
  async event(event: JsonObject, options: { eventId?: string } = {}): Promise<SignedResponse> {
    return this.post(eventBody({ event, teamId: this.teamId, ...options }), JSON_CONTENT_TYPE);
  }

  /** Sends `app_home_opened` for a user. */
  async appHomeOpened(userId: string): Promise<SignedResponse> {
    return this.event(appHomeOpened(userId));
  }

  private async post(body: string, contentType: string): Promise<SignedResponse> {
    return postSigned(this.url, body, contentType, this.signingSecret);
  }

  private completeSubmittedView(
    userId: string,
    view: Partial<SubmittedView> & { values: JsonObject },
  ): SubmittedView {
    const opened = this.fake.lastView(userId);
    const sent = opened?.view;
    const callbackId = view.callbackId ?? stringField(sent, 'callback_id');
    if (callbackId === undefined) {
      throw new Error(
        `submitView(${userId}): no modal is open for this user in the fake. Pass view.callbackId.`,
      );
    }
    return {
      ...view,
      callbackId,
      id: view.id ?? opened?.id,
      privateMetadata: view.privateMetadata ?? stringField(sent, 'private_metadata'),
      hash: view.hash ?? opened?.hash,
      rootViewId: view.rootViewId ?? opened?.rootViewId,
      externalId: view.externalId ?? stringField(sent, 'external_id'),
      blocks: view.blocks ?? (Array.isArray(sent?.blocks) ? sent.blocks : undefined),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

function assertLoopback(url: string): void {
  const { hostname } = new URL(url);
  if (!LOOPBACK_HOSTS.has(hostname)) {
    throw new Error(`postSigned: host "${hostname}" in ${url} is not a loopback address. Use 127.0.0.1.`);
  }
}

function parseJson(text: string): unknown {
  if (text === '') {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function userNameOf(userId: string): string {
  return userId.toLowerCase();
}

function userOf(userId: string, teamId: string): JsonObject {
  const name = userNameOf(userId);
  return { id: userId, username: name, name, team_id: teamId };
}

function actionOf(options: BlockActionOptions): JsonObject {
  const { selectedOption } = options;
  return {
    type: options.actionType ?? (selectedOption === undefined ? 'button' : 'static_select'),
    action_id: options.actionId,
    block_id: options.blockId ?? DEFAULT_BLOCK_ID,
    action_ts: eventTimestamp(),
    ...(options.value === undefined ? {} : { value: options.value }),
    ...(selectedOption === undefined
      ? {}
      : {
          selected_option: {
            text: { type: 'plain_text', text: selectedOption.text ?? selectedOption.value, emoji: true },
            value: selectedOption.value,
          },
        }),
  };
}

function defaultContainer(
  view: JsonObject | undefined,
  message: JsonObject | undefined,
  channelId: string,
): JsonObject {
  if (view !== undefined) {
    return { type: 'view', view_id: view.id };
  }
  return { type: 'message', message_ts: message?.ts, channel_id: channelId, is_ephemeral: false };
}

function newEventId(): string {
  eventCount += 1;
  return `Ev${String(eventCount).padStart(4, '0')}${randomBytes(4).toString('hex').toUpperCase()}`;
}

function stringField(object: JsonObject | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === 'string' ? value : undefined;
}

// Slack writes event and action timestamps as seconds with a fractional part, like message ts.
function eventTimestamp(): string {
  return (Date.now() / 1000).toFixed(6);
}
