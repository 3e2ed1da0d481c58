import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { escapeCommandText } from '../../src/sandbox/command-text.js';
import { Workspace } from '../../src/sandbox/workspace.js';
import { FakeSlack } from '../support/fake-slack.js';

type JsonObject = Record<string, unknown>;

// Limits are written out as Slack documents them, not taken from the stand-in's constants, so a
// wrong constant fails here.

let nowMs = Date.UTC(2024, 0, 15, 12);
let fake: FakeSlack;
let client: WebClient;

beforeEach(async () => {
  nowMs = Date.UTC(2024, 0, 15, 12);
  fake = await FakeSlack.start({ now: () => nowMs });
  client = new WebClient(fake.botToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
});

afterEach(async () => {
  await fake.close();
});

async function slackErrorOf(promise: Promise<unknown>): Promise<{ error: string; messages: string[] }> {
  try {
    await promise;
  } catch (error) {
    const data = (error as { data?: { error?: string; response_metadata?: { messages?: string[] } } }).data;
    return { error: data?.error ?? 'none', messages: data?.response_metadata?.messages ?? [] };
  }
  throw new Error('expected the call to fail');
}

function modal(blocks: unknown[] = []): JsonObject {
  return { type: 'modal', title: { type: 'plain_text', text: 'Test' }, blocks };
}

function actionsWith(element: JsonObject): JsonObject[] {
  return [{ type: 'actions', elements: [element] }];
}

function options(count: number): JsonObject[] {
  return Array.from({ length: count }, (_, index) => ({ text: { type: 'plain_text', text: `o${index}` }, value: `v${index}` }));
}

describe('stand-in block limits', () => {
  const overLimit: Array<[string, unknown[], string]> = [
    ['11 context elements', [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'x' })) }], '/blocks/0/elements'],
    ['6 overflow options', actionsWith({ type: 'overflow', action_id: 'o', options: options(6) }), '/blocks/0/elements/0/options'],
    ['11 checkboxes', actionsWith({ type: 'checkboxes', action_id: 'c', options: options(11) }), '/blocks/0/elements/0/options'],
    ['11 radio buttons', actionsWith({ type: 'radio_buttons', action_id: 'r', options: options(11) }), '/blocks/0/elements/0/options'],
    [
      'confirm text of 301 characters',
      actionsWith({
        type: 'button',
        action_id: 'b',
        text: { type: 'plain_text', text: 'Go' },
        confirm: { title: { type: 'plain_text', text: 'Sure?' }, text: { type: 'plain_text', text: 'x'.repeat(301) } },
      }),
      '/blocks/0/elements/0/confirm/text/text',
    ],
    [
      'confirm button of 31 characters',
      actionsWith({
        type: 'button',
        action_id: 'b',
        text: { type: 'plain_text', text: 'Go' },
        confirm: { confirm: { type: 'plain_text', text: 'x'.repeat(31) } },
      }),
      '/blocks/0/elements/0/confirm/confirm/text',
    ],
  ];

  it.each(overLimit)('rejects %s', async (_name, blocks, pointer) => {
    const failure = await slackErrorOf(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: blocks as never }));

    expect(failure.error).toBe('invalid_blocks');
    expect(failure.messages.join('\n')).toContain(`[json-pointer:${pointer}]`);
  });

  it('accepts 10 checkboxes and 5 overflow options', async () => {
    const blocks = [
      ...actionsWith({ type: 'checkboxes', action_id: 'c', options: options(10) }),
      ...actionsWith({ type: 'overflow', action_id: 'o', options: options(5) }),
    ];

    const posted = await client.chat.postMessage({ channel: 'C1', text: 'x', blocks: blocks as never });

    expect(posted.ok).toBe(true);
  });

  it('rejects a text input longer than 3,000 characters', async () => {
    const input = { type: 'input', label: { type: 'plain_text', text: 'L' }, element: { type: 'plain_text_input', action_id: 'v', max_length: 3001 } };

    const failure = await slackErrorOf(client.views.open({ trigger_id: fake.issueTriggerId('U1'), view: modal([input]) as never }));

    expect(failure.error).toBe('invalid_arguments');
    expect(failure.messages.join('\n')).toContain('[json-pointer:/view/blocks/0/element/max_length]');
  });
});

describe('stand-in modal stack', () => {
  it('push beyond three views is push_limit_reached', async () => {
    await client.views.open({ trigger_id: fake.issueTriggerId('U1'), view: modal() as never });
    await client.views.push({ trigger_id: fake.issueTriggerId('U1'), view: modal() as never });
    await client.views.push({ trigger_id: fake.issueTriggerId('U1'), view: modal() as never });

    const failure = await slackErrorOf(client.views.push({ trigger_id: fake.issueTriggerId('U1'), view: modal() as never }));

    expect(failure.error).toBe('push_limit_reached');
    expect(fake.standIn.views.openModals('U1')).toHaveLength(3);
  });

  it('pushed view names the one below it', async () => {
    const root = await client.views.open({ trigger_id: fake.issueTriggerId('U1'), view: modal() as never });
    const pushed = await client.views.push({ trigger_id: fake.issueTriggerId('U1'), view: modal() as never });

    expect(pushed.view?.previous_view_id).toBe(root.view?.id);
    expect(pushed.view?.root_view_id).toBe(root.view?.id);
  });
});

describe('stand-in messages', () => {
  it('chat.update cannot change an ephemeral message', async () => {
    const ephemeral = await client.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'only you' });

    const failure = await slackErrorOf(client.chat.update({ channel: 'C1', ts: ephemeral.message_ts ?? '', text: 'changed' }));

    expect(failure.error).toBe('message_not_found');
  });

  it('ephemeral message is visible to its recipient only', async () => {
    await client.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'only you' });

    expect(fake.standIn.workspace.messagesIn('C1', 'U1')).toHaveLength(1);
    expect(fake.standIn.workspace.messagesIn('C1', 'U2')).toHaveLength(0);
  });

  it('chat.update changes the stored message', async () => {
    const posted = await client.chat.postMessage({ channel: 'U1', text: 'pending' });

    await client.chat.update({ channel: posted.channel ?? '', ts: posted.ts ?? '', text: 'approved' });

    const [message] = fake.standIn.workspace.messagesIn('DU1', 'U1');
    expect(message?.text).toBe('approved');
    expect(message?.edited).toBe(true);
  });
});

describe('stand-in response urls', () => {
  async function post(url: string, body: JsonObject): Promise<Response> {
    return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  }

  it('reply is ephemeral to the user in their channel', async () => {
    const url = fake.standIn.responseUrl({ userId: 'U1', channelId: 'C1' });

    await post(url, { text: 'just for you' });

    const [message] = fake.standIn.workspace.messagesIn('C1', 'U1');
    expect(message?.ephemeralTo).toBe('U1');
    expect(message?.text).toBe('just for you');
  });

  it('in_channel reply is seen by everyone', async () => {
    const url = fake.standIn.responseUrl({ userId: 'U1', channelId: 'C1' });

    await post(url, { text: 'for all', response_type: 'in_channel' });

    expect(fake.standIn.workspace.messagesIn('C1', 'U2')).toHaveLength(1);
  });

  it('replace_original replaces the message of the action', async () => {
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'Approve?' });
    const url = fake.standIn.responseUrl({ userId: 'U1', channelId: 'C1', messageTs: posted.ts ?? '' });

    await post(url, { text: 'Approved', replace_original: true });

    const messages = fake.standIn.workspace.messagesIn('C1', 'U2');
    expect(messages.map((message) => message.text)).toEqual(['Approved']);
  });

  it('a sixth use is used_url', async () => {
    const url = fake.standIn.responseUrl({ userId: 'U1', channelId: 'C1' });
    for (let use = 1; use <= 5; use += 1) {
      expect((await post(url, { text: `reply ${use}` })).status).toBe(200);
    }

    const sixth = await post(url, { text: 'reply 6' });

    expect(sixth.status).toBe(404);
    expect(await sixth.json()).toMatchObject({ ok: false, error: 'used_url' });
  });

  it('use after 30 minutes is expired_url', async () => {
    const url = fake.standIn.responseUrl({ userId: 'U1', channelId: 'C1' });
    nowMs += 30 * 60 * 1000 + 1;

    const late = await post(url, { text: 'too late' });

    expect(late.status).toBe(404);
    expect(await late.json()).toMatchObject({ ok: false, error: 'expired_url' });
  });
});

describe('command text escaping', () => {
  const workspace = new Workspace(() => 0);
  workspace.setUser({ id: 'U0ALEX', name: 'alex' });
  workspace.setChannel({ id: 'C0SEC', name: 'security', isPrivate: true });
  workspace.setUserGroup('S0TEAM', ['U0ALEX'], { handle: 'team' });

  it.each([
    ['assign @alex global', 'assign <@U0ALEX|alex> global'],
    ['post to #security', 'post to <#C0SEC|security>'],
    ['ask @team', 'ask <!subteam^S0TEAM|@team>'],
    ['@nobody stays', '@nobody stays'],
    ['a < b & c > d', 'a &lt; b &amp; c &gt; d'],
  ])('%s', (typed, sent) => {
    expect(escapeCommandText(typed, workspace)).toBe(sent);
  });
});
