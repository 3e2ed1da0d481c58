/**
 * The Slack Web API methods slack-pim calls, answered from the stand-in's workspace state. Each
 * method checks its arguments as Slack does and answers with Slack's error codes.
 */
import { IANAZone } from 'luxon';
import { checkMessageContent, checkViewArgument, type ViewType } from './block-kit-checks.js';
import { slackError, slackOk, type JsonObject, type Reply } from './http-io.js';
import { MODAL_STACK_MAX_VIEWS } from './limits.js';
import type { TriggerStore } from './triggers.js';
import type { StoredView, ViewStore } from './views.js';
import { describeMessage, dmChannelIdFor, isUserId, type Workspace, type WorkspaceUser } from './workspace.js';

/** The identity of the workspace and of the app's bot user. */
export interface WorkspaceIdentity {
  botUserId: string;
  botId: string;
  teamId: string;
  teamName: string;
  teamDomain: string;
  appId: string;
}

type ApiHandler = (args: JsonObject) => Reply;

/** Web API methods by name, over one workspace. */
export class WebApiMethods {
  /** WebSocket URL that `apps.connections.open` returns; unset, that method fails with `internal_error`. */
  socketModeUrl: string | undefined;

  private readonly handlers: ReadonlyMap<string, ApiHandler> = new Map<string, ApiHandler>([
    ['auth.test', () => this.authTest()],
    ['chat.postMessage', (args) => this.postMessage(args)],
    ['chat.postEphemeral', (args) => this.postEphemeral(args)],
    ['chat.update', (args) => this.updateMessage(args)],
    ['chat.delete', (args) => this.deleteMessage(args)],
    ['views.open', (args) => this.openView(args, 'open')],
    ['views.push', (args) => this.openView(args, 'push')],
    ['views.update', (args) => this.updateView(args)],
    ['views.publish', (args) => this.publishView(args)],
    ['users.info', (args) => this.userInfo(args)],
    ['users.lookupByEmail', (args) => this.lookupUserByEmail(args)],
    ['conversations.open', (args) => this.openConversation(args)],
    ['conversations.info', (args) => this.conversationInfo(args)],
    ['apps.connections.open', () => this.openSocketConnection()],
    ['usergroups.users.list', (args) => this.listUserGroupMembers(args)],
  ]);

  constructor(
    private readonly identity: WorkspaceIdentity,
    private readonly workspace: Workspace,
    private readonly views: ViewStore,
    private readonly triggers: TriggerStore,
    private readonly now: () => number,
  ) {}

  /** Runs one method; an unknown name is `unknown_method`, as Slack answers. */
  dispatch(method: string, args: JsonObject): Reply {
    const handler = this.handlers.get(method);
    return handler === undefined ? slackError('unknown_method') : handler(args);
  }

  /** Returns a view as the Web API describes it, with the fields Slack adds. */
  describeView(stored: StoredView): JsonObject {
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
      team_id: this.identity.teamId,
      state: { values: {} },
      hash: stored.hash,
      root_view_id: stored.rootViewId,
      previous_view_id: stored.previousViewId ?? null,
      app_id: this.identity.appId,
      app_installed_team_id: this.identity.teamId,
      bot_id: this.identity.botId,
    };
  }

  private authTest(): Reply {
    return slackOk({
      url: `https://${this.identity.teamDomain}.slack.com/`,
      team: this.identity.teamName,
      user: 'pim',
      team_id: this.identity.teamId,
      user_id: this.identity.botUserId,
      bot_id: this.identity.botId,
      is_enterprise_install: false,
    });
  }

  private postMessage(args: JsonObject): Reply {
    const channel = this.workspace.resolveChannel(args.channel);
    if (channel === undefined) {
      return slackError('channel_not_found');
    }
    if (!this.workspace.isAppMember(channel)) {
      return slackError('not_in_channel');
    }
    const invalid = checkMessageContent(args);
    if (invalid !== undefined) {
      return invalid;
    }
    const stored = this.workspace.addMessage({
      channel,
      userId: this.identity.botUserId,
      ...messageContent(args),
      ...(typeof args.thread_ts === 'string' ? { threadTs: args.thread_ts } : {}),
    });
    return slackOk({ channel, ts: stored.ts, message: describeMessage(stored, this.identity) });
  }

  private postEphemeral(args: JsonObject): Reply {
    const channel = this.workspace.resolveChannel(args.channel);
    if (channel === undefined) {
      return slackError('channel_not_found');
    }
    if (!isUserId(args.user)) {
      return slackError('user_not_found');
    }
    const invalid = checkMessageContent(args);
    if (invalid !== undefined) {
      return invalid;
    }
    const stored = this.workspace.addMessage({
      channel,
      userId: this.identity.botUserId,
      ephemeralTo: args.user,
      ...messageContent(args),
    });
    return slackOk({ message_ts: stored.ts });
  }

  private updateMessage(args: JsonObject): Reply {
    const channel = this.workspace.resolveChannel(args.channel);
    if (channel === undefined) {
      return slackError('channel_not_found');
    }
    const ts = typeof args.ts === 'string' ? args.ts : '';
    const existing = this.workspace.findMessage(channel, ts);
    // Slack's chat.update cannot reach ephemeral messages, which only a response_url replaces.
    if (existing === undefined || existing.ephemeralTo !== undefined) {
      return slackError('message_not_found');
    }
    if (existing.userId !== this.identity.botUserId) {
      return slackError('cant_update_message');
    }
    const invalid = checkMessageContent(args);
    if (invalid !== undefined) {
      return invalid;
    }
    const updated = this.workspace.replaceMessage(channel, ts, messageContent(args)) ?? existing;
    return slackOk({ channel, ts, text: updated.text, message: describeMessage(updated, this.identity) });
  }

  private deleteMessage(args: JsonObject): Reply {
    const channel = this.workspace.resolveChannel(args.channel);
    if (channel === undefined) {
      return slackError('channel_not_found');
    }
    const ts = typeof args.ts === 'string' ? args.ts : '';
    const existing = this.workspace.findMessage(channel, ts);
    if (existing === undefined || existing.ephemeralTo !== undefined) {
      return slackError('message_not_found');
    }
    if (existing.userId !== this.identity.botUserId) {
      return slackError('cant_delete_message');
    }
    this.workspace.deleteMessage(channel, ts);
    return slackOk({ channel, ts });
  }

  // views.open and views.push: both exchange a trigger id for a modal. The view is checked first,
  // so an invalid view leaves the trigger id unused, as Slack does.
  private openView(args: JsonObject, mode: 'open' | 'push'): Reply {
    const invalid = checkViewArgument(args.view, 'modal');
    if (invalid !== undefined) {
      return invalid;
    }
    const trigger = this.triggers.exchangeTrigger(args.trigger_id ?? args.interactivity_pointer);
    if (typeof trigger === 'string') {
      return slackError(trigger);
    }
    const view = args.view as JsonObject;
    if (mode === 'push' && this.views.stackDepth(trigger.userId) >= MODAL_STACK_MAX_VIEWS) {
      return slackError('push_limit_reached');
    }
    const stored = mode === 'open' ? this.views.openModal(trigger.userId, view) : this.views.pushModal(trigger.userId, view);
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
    const stored = this.views.update(existing, args.view as JsonObject);
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
    const existing = this.views.homeView(args.user_id);
    if (existing !== undefined && typeof args.hash === 'string' && args.hash !== existing.hash) {
      return slackError('hash_conflict');
    }
    const stored = this.views.publishHome(args.user_id, args.view as JsonObject);
    return slackOk({ view: this.describeView(stored) });
  }

  private userInfo(args: JsonObject): Reply {
    const user = typeof args.user === 'string' ? this.workspace.user(args.user) : undefined;
    if (user === undefined) {
      return slackError('user_not_found');
    }
    return slackOk({ user: this.describeUser(user) });
  }

  // Slack answers users_not_found for an address it does not know, deactivated users included.
  private lookupUserByEmail(args: JsonObject): Reply {
    const email = typeof args.email === 'string' ? args.email.toLowerCase() : '';
    const user = this.workspace.listUsers().find((candidate) => candidate.email?.toLowerCase() === email);
    if (user === undefined || user.deleted === true) {
      return slackError('users_not_found');
    }
    return slackOk({ user: this.describeUser(user) });
  }

  private conversationInfo(args: JsonObject): Reply {
    const channel = this.workspace.resolveChannel(args.channel);
    if (channel === undefined) {
      return slackError('channel_not_found');
    }
    return slackOk({ channel: { id: channel, is_archived: false, is_member: this.workspace.isAppMember(channel) } });
  }

  private openSocketConnection(): Reply {
    return this.socketModeUrl === undefined ? slackError('internal_error') : slackOk({ url: this.socketModeUrl });
  }

  private openConversation(args: JsonObject): Reply {
    if (typeof args.channel === 'string') {
      const channel = this.workspace.resolveChannel(args.channel);
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

  private listUserGroupMembers(args: JsonObject): Reply {
    const group = typeof args.usergroup === 'string' ? this.workspace.userGroup(args.usergroup) : undefined;
    return group === undefined ? slackError('no_such_subteam') : slackOk({ users: [...group.memberIds] });
  }

  private findViewToUpdate(args: JsonObject): StoredView | Reply {
    if (typeof args.view_id === 'string') {
      return this.views.get(args.view_id) ?? slackError('not_found');
    }
    if (typeof args.external_id === 'string') {
      return this.views.findByExternalId(args.external_id) ?? slackError('not_found');
    }
    return slackError('invalid_arguments', ['[ERROR] missing required field: view_id or external_id']);
  }

  private describeUser(user: WorkspaceUser): JsonObject {
    const tz = user.tz ?? 'UTC';
    const name = user.name ?? user.id.toLowerCase();
    const realName = user.realName ?? name;
    const nowMs = this.now();
    return {
      id: user.id,
      team_id: this.identity.teamId,
      name,
      real_name: realName,
      deleted: user.deleted ?? false,
      is_bot: user.isBot ?? false,
      is_admin: false,
      is_owner: false,
      tz,
      tz_label: timeZoneLabel(tz, nowMs),
      tz_offset: user.tzOffsetSeconds ?? IANAZone.create(tz).offset(nowMs) * 60,
      profile: {
        real_name: realName,
        display_name: name,
        title: user.title ?? '',
        team: this.identity.teamId,
        ...(user.email === undefined ? {} : { email: user.email }),
      },
    };
  }
}

/** Returns the text, blocks and attachments of message arguments. */
export function messageContent(args: JsonObject): { text: string; blocks?: unknown[]; attachments?: unknown[] } {
  return {
    text: typeof args.text === 'string' ? args.text : '',
    ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
    ...(Array.isArray(args.attachments) ? { attachments: args.attachments } : {}),
  };
}

function timeZoneLabel(tz: string, atMs: number): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'long' }).formatToParts(atMs);
  return parts.find((part) => part.type === 'timeZoneName')?.value ?? tz;
}

