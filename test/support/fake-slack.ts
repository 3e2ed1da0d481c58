/**
 * The Slack stand-in of `src/sandbox` on a server of its own, for integration tests that run the
 * real Bolt app. It keeps the stand-in's checks of Slack's limits and adds what tests read: the
 * recorded calls, waits for calls to come, and injected failures.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_WAIT_TIMEOUT_MS, type RecordedCall } from '../../src/sandbox/call-log.js';
import {
  DEFAULT_APP_ID,
  DEFAULT_BOT_ID,
  DEFAULT_BOT_USER_ID,
  DEFAULT_TEAM_DOMAIN,
  DEFAULT_TEAM_ID,
  SlackStandIn,
  type HeldCall,
  type InjectedFailure,
} from '../../src/sandbox/stand-in.js';
import type { StoredView } from '../../src/sandbox/views.js';
import { dmChannelIdFor, type WorkspaceUser } from '../../src/sandbox/workspace.js';

export * from '../../src/sandbox/limits.js';
export { DEFAULT_APP_ID, DEFAULT_BOT_ID, DEFAULT_BOT_USER_ID, DEFAULT_TEAM_ID, DEFAULT_WAIT_TIMEOUT_MS, dmChannelIdFor };
export type { HeldCall, InjectedFailure, RecordedCall };

export const DEFAULT_BOT_TOKEN = 'xoxb-test-token';
export const DEFAULT_APP_TOKEN = 'xapp-test-token';
export const TEAM_DOMAIN = DEFAULT_TEAM_DOMAIN;

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
export type FakeUser = WorkspaceUser;

/** A modal or Home tab the fake holds, as last opened, pushed, updated or published. */
export type FakeView = StoredView;

/** A Slack Web API server on 127.0.0.1 that records calls and enforces Slack's limits. */
export class FakeSlack {
  readonly apiUrl: string;
  readonly botToken: string;
  readonly appToken: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;

  private constructor(
    private readonly server: Server,
    readonly standIn: SlackStandIn,
  ) {
    this.apiUrl = standIn.apiUrl;
    this.botToken = standIn.botToken;
    this.appToken = standIn.appToken;
    this.botUserId = standIn.identity.botUserId;
    this.botId = standIn.identity.botId;
    this.teamId = standIn.identity.teamId;
  }

  /** Starts a fake on 127.0.0.1 with a free port. */
  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    let standIn: SlackStandIn | undefined;
    const server = createServer((request, response) => {
      if (standIn === undefined) {
        response.writeHead(503).end('fake Slack is starting');
        return;
      }
      void standIn.handle(request, response).then((handled) => {
        if (!handled) response.writeHead(404).end(`no such path on fake Slack: ${request.url ?? ''}`);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address() as AddressInfo;
    standIn = new SlackStandIn({
      origin: `http://127.0.0.1:${address.port}`,
      botToken: options.botToken ?? DEFAULT_BOT_TOKEN,
      appToken: options.appToken ?? DEFAULT_APP_TOKEN,
      ...(options.botUserId === undefined ? {} : { botUserId: options.botUserId }),
      ...(options.botId === undefined ? {} : { botId: options.botId }),
      ...(options.teamId === undefined ? {} : { teamId: options.teamId }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    return new FakeSlack(server, standIn);
  }

  /** Returns a new `response_url` on this server. POSTs to it are recorded as `response_url` calls. */
  responseUrl(): string {
    return this.standIn.responseUrl();
  }

  /**
   * Issues a trigger id that `views.open` or `views.push` accepts once, within
   * {@link TRIGGER_ID_TTL_MS} of issue. The view it opens belongs to `userId` (see {@link lastView}).
   */
  issueTriggerId(userId?: string): string {
    return this.standIn.triggers.issueTrigger(userId);
  }

  /** Adds or replaces a user for `users.info`. Throws on a time zone that is not an IANA name. */
  setUser(user: FakeUser): void {
    this.standIn.workspace.setUser(user);
  }

  /** Sets the members of a user group for `usergroups.users.list`. */
  setUserGroup(id: string, userIds: string[]): void {
    this.standIn.workspace.setUserGroup(id, userIds);
  }

  /** Deletes a user group, so that `usergroups.users.list` returns `no_such_subteam`. */
  removeUserGroup(id: string): void {
    this.standIn.workspace.removeUserGroup(id);
  }

  /** Makes every call that names this channel fail with `channel_not_found`. */
  setChannelMissing(id: string): void {
    this.standIn.workspace.setChannelMissing(id);
  }

  /** Makes posts to this channel fail with `not_in_channel`, as when the app was never invited. */
  setChannelNotMember(id: string): void {
    this.standIn.workspace.setChannelNotMember(id);
  }

  /** Undoes {@link setChannelMissing} and {@link setChannelNotMember} for a channel. */
  restoreChannel(id: string): void {
    this.standIn.workspace.restoreChannel(id);
  }

  /** Sets the WebSocket URL that `apps.connections.open` returns; unset, it fails with `internal_error`. */
  setSocketModeUrl(url: string | undefined): void {
    this.standIn.api.socketModeUrl = url;
  }

  /**
   * Holds the next call of `method` (of those whose arguments `matches` accepts, when given) until
   * released, or drops it if the client disconnects first.
   */
  holdNext(method: string, matches?: (args: Record<string, unknown>) => boolean): HeldCall {
    return this.standIn.holdNext(method, matches);
  }

  /** Returns the direct message channel id the fake uses for a user. */
  dmChannelId(userId: string): string {
    return dmChannelIdFor(userId);
  }

  /** Returns the recorded calls, all or of one method, oldest first. */
  calls(method?: string): RecordedCall[] {
    return this.standIn.log.calls(method);
  }

  /** Returns the recorded calls that failed, with a non-200 status or `ok: false`. */
  rejectedCalls(): RecordedCall[] {
    return this.standIn.log.rejectedCalls();
  }

  /** Returns the `chat.postMessage` calls to a channel or, given a user id, to that user's DM. */
  messagesTo(channelOrUserId: string): RecordedCall[] {
    const workspace = this.standIn.workspace;
    const target = workspace.resolveChannel(channelOrUserId) ?? channelOrUserId;
    return this.calls('chat.postMessage').filter((call) => {
      const channel = call.body.channel;
      return typeof channel === 'string' && (channel === target || workspace.resolveChannel(channel) === target);
    });
  }

  /** Returns the modal last opened, pushed or updated for a user, or for anyone when omitted. */
  lastView(userId?: string): FakeView | undefined {
    return this.standIn.views.lastModal(userId);
  }

  /** Returns the Home tab last published for a user. */
  homeView(userId: string): FakeView | undefined {
    return this.standIn.views.homeView(userId);
  }

  /** Forgets the recorded calls. Users, groups, messages, views and triggers stay. */
  clear(): void {
    this.standIn.log.clear();
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
    return this.standIn.log.waitForCount(method, count, predicate, timeoutMs);
  }

  /**
   * Calls `listener` with every call recorded from now on, as it arrives. Returns a function
   * that removes the listener. Benchmarks use it to time deliveries without scanning the record.
   */
  onCall(listener: (call: RecordedCall) => void): () => void {
    const unsubscribe = this.standIn.log.onCall(listener);
    return () => {
      unsubscribe();
    };
  }

  /** Makes the next calls of `method` (or `response_url`) fail as described. */
  failNext(method: string, failure: InjectedFailure): void {
    this.standIn.failNext(method, failure);
  }

  /** Forgets the failures injected for `method` that no call has taken yet. */
  clearFailures(method: string): void {
    this.standIn.clearFailures(method);
  }

  /** Stops the server, drops open connections and rejects pending waits. */
  async close(): Promise<void> {
    this.standIn.log.close();
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }
}
