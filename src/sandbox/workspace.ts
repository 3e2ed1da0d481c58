/**
 * The state of the stand-in's workspace: its members, user groups, channels and the messages in
 * them, including ephemeral ones. Listeners hear about every change, so the web page can update
 * live. Nothing here checks Slack's limits: the Web API methods do that before they change state.
 */
import { IANAZone } from 'luxon';
import type { JsonObject } from './http-io.js';

// Two messages in the same instant still get distinct, increasing timestamps this far apart.
const TS_STEP_MICROSECONDS = 100;

/** A workspace member. */
export interface WorkspaceUser {
  id: string;
  /** IANA time zone name, `UTC` by default. */
  tz?: string;
  /** Offset from UTC in seconds. When omitted, it is computed from `tz` at the time of the call. */
  tzOffsetSeconds?: number;
  deleted?: boolean;
  /** Handle, as in `@name`; the lower-cased id by default. */
  name?: string;
  realName?: string;
  /** Job title shown next to the name. */
  title?: string;
  isBot?: boolean;
  /** Address that `users.lookupByEmail` finds the user by, case-insensitively. */
  email?: string;
}

/** A user group, mentioned as `<!subteam^ID>`. */
export interface UserGroup {
  id: string;
  /** Handle without `@`, such as `security-team`. */
  handle: string;
  name: string;
  memberIds: string[];
}

/** A named channel. Conversations the app posts to without a named channel still work. */
export interface WorkspaceChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  /** Members who see the channel; every member of the workspace when omitted. */
  memberIds?: string[];
  topic?: string;
}

/** A message as stored and shown, in a channel or a direct message conversation. */
export interface StoredMessage {
  channel: string;
  ts: string;
  /** Author: the bot user, or a member who typed a command. */
  userId: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  threadTs?: string;
  /** Set when `chat.update` or `replace_original` changed the message. */
  edited?: boolean;
  /** Recipient of an ephemeral message; only they see it. */
  ephemeralTo?: string;
}

/** A change of the workspace, with the conversation or member it concerns. */
export interface WorkspaceChange {
  kind: 'message' | 'view' | 'directory' | 'reset';
  channel?: string;
  userId?: string;
}

type ChangeListener = (change: WorkspaceChange) => void;

/** Members, groups, channels and messages of the stand-in's workspace. */
export class Workspace {
  private readonly users = new Map<string, WorkspaceUser>();
  private readonly userGroups = new Map<string, UserGroup>();
  private readonly channels = new Map<string, WorkspaceChannel>();
  private readonly missingChannels = new Set<string>();
  private readonly nonMemberChannels = new Set<string>();
  private readonly messages = new Map<string, StoredMessage[]>();
  private readonly listeners = new Set<ChangeListener>();
  private lastTsMicroseconds = 0;

  /** @param now clock in milliseconds since the epoch, from which message timestamps are made */
  constructor(private readonly now: () => number) {}

  /** Adds or replaces a member. Throws on a time zone that is not an IANA name. */
  setUser(user: WorkspaceUser): void {
    const tz = user.tz ?? 'UTC';
    if (!IANAZone.isValidZone(tz)) {
      throw new Error(`setUser(${user.id}): invalid time zone "${tz}". Use an IANA name such as Europe/Paris.`);
    }
    this.users.set(user.id, { ...user, tz });
    this.notify({ kind: 'directory' });
  }

  user(id: string): WorkspaceUser | undefined {
    return this.users.get(id);
  }

  /** Lists the members, in the order they were added. */
  listUsers(): WorkspaceUser[] {
    return [...this.users.values()];
  }

  /** Sets a user group; `members` alone names it after its id. */
  setUserGroup(id: string, memberIds: string[], details: { handle?: string; name?: string } = {}): void {
    const handle = details.handle ?? id.toLowerCase();
    this.userGroups.set(id, { id, handle, name: details.name ?? handle, memberIds: [...memberIds] });
    this.notify({ kind: 'directory' });
  }

  /** Deletes a user group, as an admin deleting it in Slack would. */
  removeUserGroup(id: string): void {
    this.userGroups.delete(id);
    this.notify({ kind: 'directory' });
  }

  userGroup(id: string): UserGroup | undefined {
    return this.userGroups.get(id);
  }

  listUserGroups(): UserGroup[] {
    return [...this.userGroups.values()];
  }

  setChannel(channel: WorkspaceChannel): void {
    this.channels.set(channel.id, { ...channel, ...(channel.memberIds === undefined ? {} : { memberIds: [...channel.memberIds] }) });
    this.notify({ kind: 'directory' });
  }

  channel(id: string): WorkspaceChannel | undefined {
    return this.channels.get(id);
  }

  listChannels(): WorkspaceChannel[] {
    return [...this.channels.values()];
  }

  /** Returns whether a member can read a named channel. */
  canSee(userId: string, channel: WorkspaceChannel): boolean {
    return channel.memberIds === undefined || channel.memberIds.includes(userId);
  }

  /** Makes every call that names this conversation fail with `channel_not_found`. */
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

  /** Reports whether the app is a member of the channel (false after {@link setChannelNotMember}). */
  isAppMember(channel: string): boolean {
    return !this.nonMemberChannels.has(channel);
  }

  /**
   * Returns the conversation id a `channel` argument names, or undefined when Slack would return
   * channel_not_found. A user id names the direct message conversation with that user.
   */
  resolveChannel(channel: unknown): string | undefined {
    if (typeof channel !== 'string' || channel.length < 2 || this.missingChannels.has(channel)) {
      return undefined;
    }
    if (isUserId(channel)) {
      const dm = dmChannelIdFor(channel);
      return this.missingChannels.has(dm) ? undefined : dm;
    }
    return /^[CGD]/.test(channel) ? channel : undefined;
  }

  /** Adds a message at the end of its conversation and returns it with a new `ts`. */
  addMessage(message: Omit<StoredMessage, 'ts'>): StoredMessage {
    const stored: StoredMessage = { ...message, ts: this.nextMessageTs() };
    const list = this.messages.get(message.channel) ?? [];
    list.push(stored);
    this.messages.set(message.channel, list);
    this.notify({ kind: 'message', channel: message.channel });
    return stored;
  }

  /** Finds a message by conversation and `ts`, ephemeral ones included. */
  findMessage(channel: string, ts: string): StoredMessage | undefined {
    return this.messages.get(channel)?.find((message) => message.ts === ts);
  }

  /** Replaces a message's content and keeps its `ts`, author and recipient. */
  replaceMessage(channel: string, ts: string, content: Pick<StoredMessage, 'text' | 'blocks' | 'attachments'>): StoredMessage | undefined {
    const existing = this.findMessage(channel, ts);
    if (existing === undefined) {
      return undefined;
    }
    existing.text = content.text;
    existing.blocks = content.blocks;
    existing.attachments = content.attachments;
    existing.edited = true;
    this.notify({ kind: 'message', channel });
    return existing;
  }

  /** Deletes a message and returns whether it existed. */
  deleteMessage(channel: string, ts: string): boolean {
    const list = this.messages.get(channel);
    const index = list?.findIndex((message) => message.ts === ts) ?? -1;
    if (list === undefined || index < 0) {
      return false;
    }
    list.splice(index, 1);
    this.notify({ kind: 'message', channel });
    return true;
  }

  /** Lists the messages of a conversation that a member can read, oldest first. */
  messagesIn(channel: string, viewerId?: string): StoredMessage[] {
    const list = this.messages.get(channel) ?? [];
    return list.filter((message) => message.ephemeralTo === undefined || message.ephemeralTo === viewerId);
  }

  /** Lists the ids of conversations that hold at least one message. */
  conversationIds(): string[] {
    return [...this.messages.keys()];
  }

  /** Forgets every message. Members, groups and channels stay. */
  clearMessages(): void {
    this.messages.clear();
    this.notify({ kind: 'reset' });
  }

  /** Subscribes to changes; returns the function that unsubscribes. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells every listener about a change. Views and triggers report theirs through this too. */
  notify(change: WorkspaceChange): void {
    for (const listener of [...this.listeners]) listener(change);
  }

  // Slack's `ts` is the posting time in seconds with six decimals, unique within a conversation.
  private nextMessageTs(): string {
    this.lastTsMicroseconds = Math.max(this.now() * 1000, this.lastTsMicroseconds + TS_STEP_MICROSECONDS);
    const seconds = Math.floor(this.lastTsMicroseconds / 1_000_000);
    const micros = String(this.lastTsMicroseconds % 1_000_000).padStart(6, '0');
    return `${seconds}.${micros}`;
  }
}

/** Returns the direct message conversation id the stand-in assigns to a user id. */
export function dmChannelIdFor(userId: string): string {
  return `D${userId}`;
}

/** Returns whether a value looks like a Slack user id (`U…`, or `W…` on Enterprise Grid). */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 1 && (value.startsWith('U') || value.startsWith('W'));
}

/** Returns the parts of a stored message that the Web API returns. */
export function describeMessage(message: StoredMessage, ids: { botId: string; appId: string; teamId: string }): JsonObject {
  return {
    type: 'message',
    text: message.text,
    user: message.userId,
    bot_id: ids.botId,
    app_id: ids.appId,
    team: ids.teamId,
    ts: message.ts,
    ...(message.blocks === undefined ? {} : { blocks: message.blocks }),
    ...(message.attachments === undefined ? {} : { attachments: message.attachments }),
    ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
  };
}
