/**
 * What the sandbox page shows to one member: the people and channels they see, the messages of
 * their conversations (their own ephemeral ones included), their Home tab and open modals, and
 * the latest Web API calls.
 */
import { isFailedResponse, isRecord, type JsonObject } from './http-io.js';
import type { SlackStandIn } from './stand-in.js';
import { dmChannelIdFor, type StoredMessage } from './workspace.js';

// Enough calls to see what the last few clicks caused, few enough to send on every refresh.
const RECENT_CALLS = 40;

/** Builds the page state of one member. */
export function buildSnapshot(standIn: SlackStandIn, userId: string, version: number): JsonObject {
  const { workspace, views, identity } = standIn;
  const people = workspace
    .listUsers()
    .filter((user) => user.isBot !== true && user.deleted !== true)
    .map((user) => ({
      id: user.id,
      name: user.name ?? user.id.toLowerCase(),
      realName: user.realName ?? user.name ?? user.id,
      title: user.title ?? '',
      tz: user.tz ?? 'UTC',
    }));
  const channels = workspace.listChannels().map((channel) => ({
    id: channel.id,
    name: channel.name,
    isPrivate: channel.isPrivate,
    topic: channel.topic ?? '',
    member: workspace.canSee(userId, channel),
  }));
  const visible = [dmChannelIdFor(userId), ...channels.filter((channel) => channel.member).map((channel) => channel.id)];
  const conversations = Object.fromEntries(
    visible.map((id) => [id, workspace.messagesIn(id, userId).map((message) => describeForPage(message))]),
  );
  const home = views.homeView(userId);
  return {
    version,
    team: { name: identity.teamName, domain: identity.teamDomain },
    bot: { userId: identity.botUserId, name: 'pim' },
    me: userId,
    people,
    groups: workspace.listUserGroups().map((group) => ({ id: group.id, handle: group.handle, name: group.name })),
    channels,
    conversations,
    home: home === undefined ? null : { id: home.id, hash: home.hash, view: home.view },
    modals: views.openModals(userId).map((stored) => ({ id: stored.id, hash: stored.hash, view: stored.view })),
    calls: standIn.log
      .calls()
      .slice(-RECENT_CALLS)
      .map((call) => ({
        method: call.method,
        at: call.at,
        ok: call.status === 200 && !isFailedResponse(call.response),
        error: typeof call.response === 'string' ? call.response : String(call.response.error ?? ''),
        messages: problemLines(call.response),
      })),
  };
}

function describeForPage(message: StoredMessage): JsonObject {
  return {
    ts: message.ts,
    userId: message.userId,
    text: message.text,
    blocks: message.blocks ?? null,
    attachments: message.attachments ?? null,
    edited: message.edited === true,
    ephemeral: message.ephemeralTo !== undefined,
  };
}

function problemLines(response: JsonObject | string): string[] {
  if (typeof response === 'string' || !isRecord(response.response_metadata)) return [];
  const messages = response.response_metadata.messages;
  return Array.isArray(messages) ? messages.map(String) : [];
}
