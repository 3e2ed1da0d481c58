/**
 * What a member does on the sandbox page, sent to the app as Slack would send it: slash commands,
 * block actions, modal submissions and closes, and opening the Home tab. Each is a signed request
 * with a fresh trigger id, and the app's `response_action` answers change the modal stack as in
 * Slack.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import {
  FORM_CONTENT_TYPE,
  interactionForm,
  JSON_CONTENT_TYPE,
  postToApp,
  slashCommandForm,
  type AppAnswer,
  type AppEndpoint,
} from './app-requests.js';
import { checkViewArgument } from './block-kit-checks.js';
import { escapeCommandText } from './command-text.js';
import { isRecord, stringField, type JsonObject } from './http-io.js';
import { ACK_TIMEOUT_MS, MODAL_STACK_MAX_VIEWS } from './limits.js';
import type { SlackStandIn } from './stand-in.js';
import type { StoredView } from './views.js';
import { describeMessage, dmChannelIdFor } from './workspace.js';

/** The legacy verification token Slack still sends in payloads. Bolt does not check it. */
const VERIFICATION_TOKEN = 'sandbox-verification-token';
// Slack's words when an app fails to answer a modal submission in time or answers wrongly.
const MODAL_TROUBLE = 'We had some trouble connecting. Try again?';

/** Where an action happened: a message in a conversation, or a modal or Home tab. */
export type ActionSurface = { type: 'message'; channelId: string; ts: string } | { type: 'view'; viewId: string };

/** The outcome the page shows: done, field errors inside a modal, or an error line. */
export type InteractionOutcome =
  | { ok: true }
  | { ok: false; fieldErrors: Record<string, string> }
  | { ok: false; error: string };

/** Sends members' interactions to the app and applies its answers. */
export class SandboxInteractions {
  constructor(
    private readonly standIn: SlackStandIn,
    private readonly endpoint: () => AppEndpoint | undefined,
    private readonly logger: Logger,
  ) {}

  /** Runs a typed slash command such as `/pim status` in a conversation. */
  async runCommand(userId: string, channelId: string, typed: string): Promise<InteractionOutcome> {
    const match = /^\/(\S+)\s*([\s\S]*)$/.exec(typed.trim());
    if (match === null) {
      return { ok: false, error: 'Only slash commands reach the app in the sandbox: type /pim help.' };
    }
    const [, name = '', rest = ''] = match;
    if (name !== 'pim') {
      return { ok: false, error: `/${name} is not a valid command. The sandbox knows /pim only.` };
    }
    const user = this.standIn.workspace.user(userId);
    const channel = this.standIn.workspace.channel(channelId);
    const form = slashCommandForm({
      token: VERIFICATION_TOKEN,
      team_id: this.standIn.identity.teamId,
      team_domain: this.standIn.identity.teamDomain,
      channel_id: channelId,
      channel_name: channel?.name ?? (channelId.startsWith('D') ? 'directmessage' : channelId),
      user_id: userId,
      user_name: user?.name ?? userId.toLowerCase(),
      command: '/pim',
      text: escapeCommandText(rest, this.standIn.workspace),
      api_app_id: this.standIn.identity.appId,
      is_enterprise_install: 'false',
      response_url: this.standIn.responseUrl({ userId, channelId }),
      trigger_id: this.standIn.triggers.issueTrigger(userId),
    });
    const answer = await this.send(form, FORM_CONTENT_TYPE);
    if (!answer.ok || answer.status !== 200) {
      return this.commandFailed(userId, channelId, answer);
    }
    // An ack with a message body is shown like a response_url reply.
    if (answer.json !== undefined && (typeof answer.json.text === 'string' || Array.isArray(answer.json.blocks))) {
      this.standIn.workspace.addMessage({
        channel: channelId,
        userId: this.standIn.identity.botUserId,
        text: stringField(answer.json, 'text') ?? '',
        ...(Array.isArray(answer.json.blocks) ? { blocks: answer.json.blocks } : {}),
        ...(answer.json.response_type === 'in_channel' ? {} : { ephemeralTo: userId }),
      });
    }
    return { ok: true };
  }

  /** Sends a `block_actions` interaction for one element of a message, modal or Home tab. */
  async blockAction(
    userId: string,
    surface: ActionSurface,
    action: JsonObject,
    stateValues: JsonObject,
  ): Promise<InteractionOutcome> {
    const payload: JsonObject = {
      type: 'block_actions',
      ...this.envelope(userId),
      trigger_id: this.standIn.triggers.issueTrigger(userId),
      actions: [{ ...action, action_ts: (Date.now() / 1000).toFixed(6) }],
    };
    if (surface.type === 'message') {
      const message = this.standIn.workspace.findMessage(surface.channelId, surface.ts);
      if (message === undefined) return { ok: false, error: 'That message no longer exists.' };
      const channel = this.standIn.workspace.channel(surface.channelId);
      Object.assign(payload, {
        container: {
          type: 'message',
          message_ts: message.ts,
          channel_id: surface.channelId,
          is_ephemeral: message.ephemeralTo !== undefined,
        },
        channel: { id: surface.channelId, name: channel?.name ?? 'directmessage' },
        message: describeMessage(message, this.standIn.identity),
        state: { values: stateValues },
        response_url: this.standIn.responseUrl({ userId, channelId: surface.channelId, messageTs: message.ts }),
      });
    } else {
      const stored = this.standIn.views.get(surface.viewId);
      if (stored === undefined) return { ok: false, error: 'That view is no longer open.' };
      Object.assign(payload, {
        container: { type: 'view', view_id: stored.id },
        view: this.viewWithState(stored, stateValues),
      });
    }
    const answer = await this.send(interactionForm(payload), FORM_CONTENT_TYPE);
    return answer.ok && answer.status === 200 ? { ok: true } : { ok: false, error: describeFailure(answer) };
  }

  /** Submits the top modal of a member's stack and applies the app's `response_action`. */
  async submitView(userId: string, viewId: string, stateValues: JsonObject): Promise<InteractionOutcome> {
    const stored = this.topModal(userId, viewId);
    if (stored === undefined) return { ok: false, error: 'That modal is no longer open.' };
    const payload: JsonObject = {
      type: 'view_submission',
      ...this.envelope(userId),
      trigger_id: this.standIn.triggers.issueTrigger(userId),
      view: this.viewWithState(stored, stateValues),
      response_urls: [],
    };
    const answer = await this.send(interactionForm(payload), FORM_CONTENT_TYPE);
    if (!answer.ok || answer.status !== 200) {
      return { ok: false, error: `${MODAL_TROUBLE} (${describeFailure(answer)})` };
    }
    return this.applyResponseAction(userId, stored, answer.json);
  }

  /**
   * Closes the top modal, or the whole stack when `all` is set (Slack's ✕ button). The app hears
   * of it through `view_closed` only when the view asked with `notify_on_close`.
   */
  async closeView(userId: string, viewId: string, all: boolean): Promise<InteractionOutcome> {
    const stored = this.topModal(userId, viewId);
    if (stored === undefined) return { ok: false, error: 'That modal is no longer open.' };
    if (all) this.standIn.views.closeAll(userId);
    else this.standIn.views.closeTop(userId);
    if (stored.view.notify_on_close !== true) return { ok: true };
    const payload: JsonObject = {
      type: 'view_closed',
      ...this.envelope(userId),
      view: this.viewWithState(stored, {}),
      is_cleared: all,
    };
    const answer = await this.send(interactionForm(payload), FORM_CONTENT_TYPE);
    return answer.ok && answer.status === 200 ? { ok: true } : { ok: false, error: describeFailure(answer) };
  }

  /** Sends `app_home_opened`, as Slack does each time a member opens the app's Home tab. */
  async openHome(userId: string): Promise<InteractionOutcome> {
    const teamId = this.standIn.identity.teamId;
    const home = this.standIn.views.homeView(userId);
    const body = JSON.stringify({
      token: VERIFICATION_TOKEN,
      team_id: teamId,
      api_app_id: this.standIn.identity.appId,
      event: {
        type: 'app_home_opened',
        user: userId,
        channel: dmChannelIdFor(userId),
        tab: 'home',
        event_ts: (Date.now() / 1000).toFixed(6),
        ...(home === undefined ? {} : { view: this.standIn.api.describeView(home) }),
      },
      type: 'event_callback',
      event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [
        { enterprise_id: null, team_id: teamId, user_id: this.standIn.identity.botUserId, is_bot: true, is_enterprise_install: false },
      ],
      is_ext_shared_channel: false,
    });
    const answer = await this.send(body, JSON_CONTENT_TYPE);
    return answer.ok && answer.status === 200 ? { ok: true } : { ok: false, error: describeFailure(answer) };
  }

  // In Slack an empty ack closes the submitted view, which uncovers the view below it. `errors`
  // keeps the view open with messages under the named input blocks, and `clear` closes the stack.
  private applyResponseAction(userId: string, stored: StoredView, json: JsonObject | undefined): InteractionOutcome {
    const action = json?.response_action;
    if (action === undefined) {
      this.standIn.views.closeTop(userId);
      return { ok: true };
    }
    if (action === 'errors' && json !== undefined && isRecord(json.errors)) {
      const fieldErrors = Object.fromEntries(
        Object.entries(json.errors).map(([blockId, message]) => [blockId, String(message)]),
      );
      return { ok: false, fieldErrors };
    }
    if (action === 'clear') {
      this.standIn.views.closeAll(userId);
      return { ok: true };
    }
    if ((action === 'update' || action === 'push') && json !== undefined) {
      const rejected = checkViewArgument(json.view, 'modal');
      if (rejected !== undefined) {
        this.recordRejectedAnswer(action, json, rejected.body);
        return { ok: false, error: `${MODAL_TROUBLE} (the ${action} view is invalid: ${describeReplyBody(rejected.body)})` };
      }
      const view = json.view as JsonObject;
      if (action === 'update') {
        this.standIn.views.update(stored, view);
      } else if (this.standIn.views.stackDepth(userId) >= MODAL_STACK_MAX_VIEWS) {
        this.recordRejectedAnswer(action, json, { ok: false, error: 'push_limit_reached' });
        return { ok: false, error: `${MODAL_TROUBLE} (push_limit_reached)` };
      } else {
        this.standIn.views.pushModal(userId, view);
      }
      return { ok: true };
    }
    this.recordRejectedAnswer(String(action), json ?? {}, { ok: false, error: 'invalid_response_action' });
    return { ok: false, error: `${MODAL_TROUBLE} (unknown response_action ${JSON.stringify(action)})` };
  }

  // Shows a rejected response_action in the page's call list, next to the Web API calls.
  private recordRejectedAnswer(action: string, body: JsonObject, response: JsonObject | string): void {
    this.standIn.log.record({
      method: `response_action.${action}`,
      body,
      url: 'view_submission',
      at: this.standIn.now(),
      status: 200,
      response,
    });
  }

  private async send(body: string, contentType: string): Promise<AppAnswer> {
    const endpoint = this.endpoint();
    if (endpoint === undefined) {
      return { ok: false, reason: 'unreachable', detail: 'the app is restarting' };
    }
    const answer = await postToApp(endpoint, body, contentType, ACK_TIMEOUT_MS);
    if (!answer.ok || answer.status !== 200) {
      this.logger.warn({ answer: answer.ok ? answer.status : answer.reason }, 'the app did not acknowledge a sandbox request');
    }
    return answer;
  }

  // Slack answers a command that fails with an ephemeral line from Slackbot naming the error.
  private commandFailed(userId: string, channelId: string, answer: AppAnswer): InteractionOutcome {
    const code = !answer.ok && answer.reason === 'timeout' ? 'operation_timeout' : 'dispatch_failed';
    this.standIn.workspace.addMessage({
      channel: channelId,
      userId: 'USLACKBOT',
      text: `/pim failed with the error "${code}"`,
      ephemeralTo: userId,
    });
    return { ok: false, error: `/pim failed with the error "${code}" (${describeFailure(answer)})` };
  }

  private topModal(userId: string, viewId: string): StoredView | undefined {
    const top = this.standIn.views.openModals(userId).at(-1);
    return top?.id === viewId ? top : undefined;
  }

  private viewWithState(stored: StoredView, stateValues: JsonObject): JsonObject {
    return { ...this.standIn.api.describeView(stored), state: { values: stateValues } };
  }

  private envelope(userId: string): JsonObject {
    const user = this.standIn.workspace.user(userId);
    const teamId = this.standIn.identity.teamId;
    const name = user?.name ?? userId.toLowerCase();
    return {
      team: { id: teamId, domain: this.standIn.identity.teamDomain },
      user: { id: userId, username: name, name, team_id: teamId },
      api_app_id: this.standIn.identity.appId,
      token: VERIFICATION_TOKEN,
      is_enterprise_install: false,
      enterprise: null,
    };
  }
}

function describeFailure(answer: AppAnswer): string {
  if (!answer.ok) return answer.reason === 'timeout' ? `no answer within ${ACK_TIMEOUT_MS} ms` : answer.detail;
  return `HTTP ${answer.status}`;
}

function describeReplyBody(body: JsonObject | string): string {
  if (typeof body === 'string') return body;
  const metadata = isRecord(body.response_metadata) ? body.response_metadata.messages : undefined;
  const messages = Array.isArray(metadata) ? metadata.join('; ') : '';
  return [String(body.error ?? 'error'), messages].filter((part) => part !== '').join(': ');
}
