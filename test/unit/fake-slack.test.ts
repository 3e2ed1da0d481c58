import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { App, LogLevel, verifySlackRequest } from '@slack/bolt';
import { ErrorCode, type Logger, WebClient, type WebClientOptions } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeSlack, type RecordedCall } from '../support/fake-slack.js';
import {
  blockActionsBody,
  eventBody,
  postSigned,
  sign,
  signatureHeaders,
  SlackSender,
  slashCommandBody,
} from '../support/slack-requests.js';

type JsonObject = Record<string, unknown>;

// Limits are written out as Slack documents them, not taken from the fake's constants, so a wrong
// constant fails here.

// 2024-01-15 12:00 UTC: winter time in Europe, so Paris is UTC+1.
const JANUARY_NOON_MS = Date.UTC(2024, 0, 15, 12);
const JULY_NOON_MS = Date.UTC(2024, 6, 15, 12);

let nowMs = JANUARY_NOON_MS;
let fake: FakeSlack;
let client: WebClient;

beforeEach(async () => {
  nowMs = JANUARY_NOON_MS;
  fake = await FakeSlack.start({ now: () => nowMs });
  client = webClient(fake.botToken);
});

afterEach(async () => {
  await fake.close();
});

describe('FakeSlack Web API', () => {
  it('auth.test returns the bot identity', async () => {
    const result = await client.auth.test();

    expect(result.ok).toBe(true);
    expect(result.user_id).toBe('UBOT');
    expect(result.bot_id).toBe('BBOT');
    expect(result.team_id).toBe('T0TEST');
  });

  it('missing token is not_authed', async () => {
    const response = await rawPost('auth.test', 'channel=C1');

    expect(response).toMatchObject({ ok: false, error: 'not_authed' });
  });

  it('wrong token is invalid_auth', async () => {
    const failure = await slackErrorOf(webClient('xoxb-wrong').auth.test());

    expect(failure.error).toBe('invalid_auth');
  });

  it('token in the body is accepted', async () => {
    const response = await rawPost('auth.test', `token=${fake.botToken}`);

    expect(response).toMatchObject({ ok: true, user_id: 'UBOT' });
  });

  it('unknown method is unknown_method', async () => {
    const failure = await slackErrorOf(client.apiCall('chat.unfurlEverything'));

    expect(failure.error).toBe('unknown_method');
  });

  it('records form bodies with decoded blocks and no token', async () => {
    await client.chat.postMessage({ channel: 'C1', text: 'hi', blocks: [section('hello')] });

    const [call] = fake.calls('chat.postMessage');
    expect(call?.body.blocks).toEqual([section('hello')]);
    expect(call?.body.text).toBe('hi');
    expect(call?.body).not.toHaveProperty('token');
    expect(call?.url).toBe(`${fake.apiUrl}chat.postMessage`);
    expect(call?.at).toBe(JANUARY_NOON_MS);
  });

  it('records JSON bodies', async () => {
    const response = await rawPost('chat.postMessage', JSON.stringify({ channel: 'C1', text: 'json' }), {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${fake.botToken}`,
    });

    expect(response).toMatchObject({ ok: true, channel: 'C1' });
    expect(fake.calls('chat.postMessage')[0]?.body).toEqual({ channel: 'C1', text: 'json' });
  });

  it('message timestamps are unique and increasing', async () => {
    const first = await client.chat.postMessage({ channel: 'C1', text: 'one' });
    const second = await client.chat.postMessage({ channel: 'C1', text: 'two' });

    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
  });

  it('message to a user id lands in their DM channel', async () => {
    const posted = await client.chat.postMessage({ channel: 'UALICE', text: 'hello' });

    expect(posted.channel).toBe(fake.dmChannelId('UALICE'));
    expect(fake.messagesTo('UALICE')).toHaveLength(1);
  });

  it('update and delete find a posted message', async () => {
    const posted = await client.chat.postMessage({ channel: 'UALICE', text: 'pending' });
    const channel = posted.channel ?? '';
    const ts = posted.ts ?? '';

    const updated = await client.chat.update({ channel, ts, text: 'approved' });
    const deleted = await client.chat.delete({ channel, ts });

    expect(updated.ok).toBe(true);
    expect(deleted.ok).toBe(true);
  });

  it('update of an unknown message is message_not_found', async () => {
    const failure = await slackErrorOf(client.chat.update({ channel: 'C1', ts: '1.000001', text: 'x' }));

    expect(failure.error).toBe('message_not_found');
  });

  it('rejectedCalls lists what Slack would reject', async () => {
    await client.chat.postMessage({ channel: 'C1', text: 'fine' });
    await slackErrorOf(client.chat.postMessage({ channel: 'C1', text: '' }));

    expect(fake.rejectedCalls().map((call) => call.method)).toEqual(['chat.postMessage']);
  });
});

describe('message limits', () => {
  const atLimit: Array<[string, JsonObject]> = [
    [`${50} blocks`, { blocks: repeat(50, () => section('x')) }],
    ['text of 40,000 characters', { text: 'x'.repeat(40_000) }],
    ['section text of 3,000 characters', { blocks: [section('x'.repeat(3000))] }],
    ['header text of 150 characters', { blocks: [header('x'.repeat(150))] }],
    ['button text of 75 characters', { blocks: [actions(button('x'.repeat(75)))] }],
    ['action_id of 255 characters', { blocks: [actions({ ...button('ok'), action_id: 'a'.repeat(255) })] }],
    ['block_id of 255 characters', { blocks: [{ ...section('x'), block_id: 'b'.repeat(255) }] }],
    ['select with 100 options', { blocks: [withSelect(repeat(100, (i) => option(`o${i}`)))] }],
    ['option text of 75 characters', { blocks: [withSelect([option('x'.repeat(75))])] }],
  ];

  it.each(atLimit)('accepts %s', async (_name, content) => {
    const result = await client.chat.postMessage({ channel: 'C1', text: 'fallback', ...content });

    expect(result.ok).toBe(true);
  });

  const overLimit: Array<[string, JsonObject, string, string | undefined]> = [
    ['51 blocks', { blocks: repeat(51, () => section('x')) }, 'invalid_blocks', '/blocks'],
    ['text of 40,001 characters', { text: 'x'.repeat(40_001) }, 'msg_too_long', undefined],
    [
      'section text of 3,001 characters',
      { blocks: [section('x'.repeat(3001))] },
      'invalid_blocks',
      '/blocks/0/text/text',
    ],
    [
      'header text of 151 characters',
      { blocks: [header('x'.repeat(151))] },
      'invalid_blocks',
      '/blocks/0/text/text',
    ],
    [
      'button text of 76 characters',
      { blocks: [actions(button('x'.repeat(76)))] },
      'invalid_blocks',
      '/blocks/0/elements/0/text/text',
    ],
    [
      'action_id of 256 characters',
      { blocks: [actions({ ...button('ok'), action_id: 'a'.repeat(256) })] },
      'invalid_blocks',
      '/blocks/0/elements/0/action_id',
    ],
    [
      'block_id of 256 characters',
      { blocks: [{ ...section('x'), block_id: 'b'.repeat(256) }] },
      'invalid_blocks',
      '/blocks/0/block_id',
    ],
    [
      'select with 101 options',
      { blocks: [withSelect(repeat(101, (i) => option(`o${i}`)))] },
      'invalid_blocks',
      '/blocks/0/accessory/options',
    ],
    [
      'option text of 76 characters',
      { blocks: [withSelect([option('x'.repeat(76))])] },
      'invalid_blocks',
      '/blocks/0/accessory/options/0/text/text',
    ],
  ];

  it.each(overLimit)('rejects %s', async (_name, content, expectedError, expectedPointer) => {
    const failure = await slackErrorOf(client.chat.postMessage({ channel: 'C1', text: 'fallback', ...content }));

    expect(failure.error).toBe(expectedError);
    if (expectedPointer !== undefined) {
      expect(failure.messages.join('\n')).toContain(`[json-pointer:${expectedPointer}]`);
    }
  });

  it('message without text or blocks is no_text', async () => {
    const failure = await slackErrorOf(client.chat.postMessage({ channel: 'C1', text: '' }));

    expect(failure.error).toBe('no_text');
  });

  it('message without channel is channel_not_found', async () => {
    const response = await rawPost('chat.postMessage', 'text=hi', { Authorization: `Bearer ${fake.botToken}` });

    expect(response).toMatchObject({ ok: false, error: 'channel_not_found' });
  });

  it('channel with an unknown prefix is channel_not_found', async () => {
    const failure = await slackErrorOf(client.chat.postMessage({ channel: 'XNOPE', text: 'hi' }));

    expect(failure.error).toBe('channel_not_found');
  });

  it('setChannelMissing makes a channel not found', async () => {
    fake.setChannelMissing('CSECURITY');

    const failure = await slackErrorOf(client.chat.postMessage({ channel: 'CSECURITY', text: 'alert' }));

    expect(failure.error).toBe('channel_not_found');
  });

  it('postEphemeral checks the same limits', async () => {
    const blocks = repeat(51, () => section('x'));

    const failure = await slackErrorOf(client.chat.postEphemeral({ channel: 'C1', user: 'UALICE', text: 'x', blocks }));

    expect(failure.error).toBe('invalid_blocks');
  });

  it('update checks the same limits', async () => {
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'short' });

    const failure = await slackErrorOf(
      client.chat.update({ channel: 'C1', ts: posted.ts ?? '', text: 'x'.repeat(40_001) }),
    );

    expect(failure.error).toBe('msg_too_long');
  });
});

describe('view limits', () => {
  it('opens a modal with 100 blocks', async () => {
    const result = await client.views.open({
      trigger_id: fake.issueTriggerId(),
      view: modal({ blocks: repeat(100, () => section('x')) }),
    });

    expect(result.ok).toBe(true);
    expect(result.view?.id).toMatch(/^V/);
  });

  const overLimit: Array<[string, JsonObject, string]> = [
    [`${101} blocks`, { blocks: repeat(101, () => section('x')) }, '/view/blocks'],
    ['title of 25 characters', { title: plain('x'.repeat(25)) }, '/view/title/text'],
    ['submit text of 25 characters', { submit: plain('x'.repeat(25)) }, '/view/submit/text'],
    ['private_metadata of 3,001 characters', { private_metadata: 'x'.repeat(3001) }, '/view/private_metadata'],
    ['callback_id of 256 characters', { callback_id: 'c'.repeat(256) }, '/view/callback_id'],
    ['section text of 3,001 characters', { blocks: [section('x'.repeat(3001))] }, '/view/blocks/0/text/text'],
  ];

  it.each(overLimit)('rejects a modal with %s', async (_name, fields, expectedPointer) => {
    const failure = await slackErrorOf(client.views.open({ trigger_id: fake.issueTriggerId(), view: modal(fields) }));

    expect(failure.error).toBe('invalid_arguments');
    expect(failure.messages.join('\n')).toContain(`[json-pointer:${expectedPointer}]`);
  });

  it('rejects a Home tab over 100 blocks', async () => {
    const view = { type: 'home' as const, blocks: repeat(101, () => section('x')) };

    const failure = await slackErrorOf(client.views.publish({ user_id: 'UALICE', view }));

    expect(failure.error).toBe('invalid_arguments');
    expect(failure.messages.join('\n')).toContain('[json-pointer:/view/blocks]');
  });

  it('publish keeps one view id per user', async () => {
    const first = await client.views.publish({ user_id: 'UALICE', view: { type: 'home', blocks: [section('a')] } });
    const second = await client.views.publish({ user_id: 'UALICE', view: { type: 'home', blocks: [section('b')] } });

    expect(second.view?.id).toBe(first.view?.id);
    expect(fake.homeView('UALICE')?.view.blocks).toEqual([section('b')]);
  });

  it('update with a stale hash is hash_conflict', async () => {
    const opened = await client.views.open({ trigger_id: fake.issueTriggerId(), view: modal() });
    const viewId = opened.view?.id ?? '';
    const staleHash = opened.view?.hash ?? '';
    await client.views.update({ view_id: viewId, hash: staleHash, view: modal({ callback_id: 'second' }) });

    const failure = await slackErrorOf(client.views.update({ view_id: viewId, hash: staleHash, view: modal() }));

    expect(failure.error).toBe('hash_conflict');
  });

  it('update of an unknown view is not_found', async () => {
    const failure = await slackErrorOf(client.views.update({ view_id: 'V9999999', view: modal() }));

    expect(failure.error).toBe('not_found');
  });
});

describe('trigger ids', () => {
  it('trigger id opens one modal only', async () => {
    const triggerId = fake.issueTriggerId();
    await client.views.open({ trigger_id: triggerId, view: modal() });

    const failure = await slackErrorOf(client.views.open({ trigger_id: triggerId, view: modal() }));

    expect(failure.error).toBe('exchanged_trigger_id');
  });

  it('trigger id is valid for three seconds', async () => {
    const triggerId = fake.issueTriggerId();
    nowMs += 3000;

    const result = await client.views.open({ trigger_id: triggerId, view: modal() });

    expect(result.ok).toBe(true);
  });

  it('trigger id expires after three seconds', async () => {
    const triggerId = fake.issueTriggerId();
    nowMs += 3001;

    const failure = await slackErrorOf(client.views.open({ trigger_id: triggerId, view: modal() }));

    expect(failure.error).toBe('expired_trigger_id');
  });

  it('unknown trigger id is expired_trigger_id', async () => {
    const failure = await slackErrorOf(client.views.open({ trigger_id: '123.456.abcdef', view: modal() }));

    expect(failure.error).toBe('expired_trigger_id');
  });

  it('malformed trigger id is invalid_trigger_id', async () => {
    const failure = await slackErrorOf(client.views.open({ trigger_id: 'not-a-trigger', view: modal() }));

    expect(failure.error).toBe('invalid_trigger_id');
  });

  it('push exchanges a trigger id too', async () => {
    const triggerId = fake.issueTriggerId();
    await client.views.push({ trigger_id: triggerId, view: modal() });

    const failure = await slackErrorOf(client.views.push({ trigger_id: triggerId, view: modal() }));

    expect(failure.error).toBe('exchanged_trigger_id');
  });

  it('invalid view leaves the trigger id unused', async () => {
    const triggerId = fake.issueTriggerId();
    await slackErrorOf(client.views.open({ trigger_id: triggerId, view: modal({ title: plain('x'.repeat(30)) }) }));

    const result = await client.views.open({ trigger_id: triggerId, view: modal() });

    expect(result.ok).toBe(true);
  });

  it('lastView returns the modal opened for the trigger user', async () => {
    await client.views.open({ trigger_id: fake.issueTriggerId('UALICE'), view: modal({ callback_id: 'activate' }) });
    await client.views.open({ trigger_id: fake.issueTriggerId('UBOB'), view: modal({ callback_id: 'assign' }) });

    expect(fake.lastView('UALICE')?.view.callback_id).toBe('activate');
    expect(fake.lastView()?.view.callback_id).toBe('assign');
  });
});

describe('users and groups', () => {
  it('tz_offset follows the zone and daylight saving time', async () => {
    fake.setUser({ id: 'UALICE', tz: 'Europe/Paris' });

    const winter = await client.users.info({ user: 'UALICE' });
    nowMs = JULY_NOON_MS;
    const summer = await client.users.info({ user: 'UALICE' });

    expect(winter.user?.tz).toBe('Europe/Paris');
    expect(winter.user?.tz_offset).toBe(3600);
    expect(summer.user?.tz_offset).toBe(7200);
  });

  it('explicit tz offset wins', async () => {
    fake.setUser({ id: 'UALICE', tz: 'Asia/Kolkata', tzOffsetSeconds: 1 });

    const result = await client.users.info({ user: 'UALICE' });

    expect(result.user?.tz_offset).toBe(1);
  });

  it('user without tz is in UTC', async () => {
    fake.setUser({ id: 'UBOB', deleted: true, name: 'bob' });

    const result = await client.users.info({ user: 'UBOB' });

    expect(result.user?.tz).toBe('UTC');
    expect(result.user?.tz_offset).toBe(0);
    expect(result.user?.deleted).toBe(true);
    expect(result.user?.name).toBe('bob');
  });

  it('unknown user is user_not_found', async () => {
    const failure = await slackErrorOf(client.users.info({ user: 'UNOBODY' }));

    expect(failure.error).toBe('user_not_found');
  });

  it('setUser rejects a time zone that is not IANA', () => {
    expect(() => fake.setUser({ id: 'UALICE', tz: 'Mars/Olympus' })).toThrow(/invalid time zone "Mars\/Olympus"/);
  });

  it('usergroups.users.list returns members', async () => {
    fake.setUserGroup('S0ADMINS', ['UALICE', 'UBOB']);

    const result = await client.usergroups.users.list({ usergroup: 'S0ADMINS' });

    expect(result.users).toEqual(['UALICE', 'UBOB']);
  });

  it('unknown user group is no_such_subteam', async () => {
    const failure = await slackErrorOf(client.usergroups.users.list({ usergroup: 'S0NONE' }));

    expect(failure.error).toBe('no_such_subteam');
  });

  it('conversations.open returns the DM channel', async () => {
    const result = await client.conversations.open({ users: 'UALICE' });

    expect(result.channel?.id).toBe(fake.dmChannelId('UALICE'));
  });
});

describe('injected failures', () => {
  it('429 carries Retry-After', async () => {
    fake.failNext('chat.postMessage', { retryAfterSeconds: 7 });
    const strictClient = webClient(fake.botToken, { rejectRateLimitedCalls: true });

    const error = await rejectionOf(strictClient.chat.postMessage({ channel: 'C1', text: 'hi' }));
    const next = await strictClient.chat.postMessage({ channel: 'C1', text: 'hi' });

    expect(error).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    expect(fake.calls('chat.postMessage')[0]?.status).toBe(429);
    expect(next.ok).toBe(true);
  });

  it('5xx fails with its HTTP status', async () => {
    fake.failNext('views.publish', { status: 503 });

    const error = await rejectionOf(client.views.publish({ user_id: 'UALICE', view: { type: 'home', blocks: [] } }));

    expect(error).toMatchObject({ code: ErrorCode.HTTPError, statusCode: 503 });
  });

  it('error code fails with HTTP 200', async () => {
    fake.failNext('users.info', { error: 'ratelimited' });
    fake.setUser({ id: 'UALICE' });

    const failure = await slackErrorOf(client.users.info({ user: 'UALICE' }));

    expect(failure.error).toBe('ratelimited');
  });

  it('times counts consecutive failures', async () => {
    fake.failNext('auth.test', { error: 'fatal_error', times: 2 });

    const first = await slackErrorOf(client.auth.test());
    const second = await slackErrorOf(client.auth.test());
    const third = await client.auth.test();

    expect(first.error).toBe('fatal_error');
    expect(second.error).toBe('fatal_error');
    expect(third.ok).toBe(true);
  });

  it('times must be positive', () => {
    expect(() => fake.failNext('auth.test', { times: 0 })).toThrow(/positive integer/);
  });
});

describe('waiting for calls', () => {
  it('waitFor resolves on a later call', async () => {
    const waiting = fake.waitFor('chat.postMessage', (call) => call.body.text === 'second');

    await client.chat.postMessage({ channel: 'C1', text: 'first' });
    await client.chat.postMessage({ channel: 'C1', text: 'second' });

    expect((await waiting).body.text).toBe('second');
  });

  it('waitFor returns a recorded call at once', async () => {
    await client.auth.test();

    const call = await fake.waitFor('auth.test', undefined, 1);

    expect(call.method).toBe('auth.test');
  });

  it('waitFor treats a throwing predicate as no match', async () => {
    await client.chat.postMessage({ channel: 'C1', text: 'plain' });
    const hasSection = (call: RecordedCall): boolean => (call.body.blocks as JsonObject[])[0]?.type === 'section';
    const waiting = fake.waitFor('chat.postMessage', hasSection);

    await client.chat.postMessage({ channel: 'C1', text: 'rich', blocks: [section('x')] });

    expect((await waiting).body.text).toBe('rich');
  });

  it('waitFor timeout lists the recorded methods', async () => {
    await client.auth.test();
    await client.chat.postMessage({ channel: 'C1', text: 'a' });
    await client.chat.postMessage({ channel: 'C1', text: 'b' });

    const error = await rejectionOf(fake.waitFor('views.open', undefined, 20));

    expect(String(error)).toContain('timed out after 20 ms waiting for 1 × views.open');
    expect(String(error)).toContain('recorded calls: auth.test, chat.postMessage ×2');
  });

  it('waitForCount collects matching calls', async () => {
    const waiting = fake.waitForCount('chat.postMessage', 2, (call) => call.body.channel === 'C2');

    await client.chat.postMessage({ channel: 'C2', text: 'a' });
    await client.chat.postMessage({ channel: 'C1', text: 'b' });
    await client.chat.postMessage({ channel: 'C2', text: 'c' });

    expect((await waiting).map((call) => call.body.text)).toEqual(['a', 'c']);
  });

  it('close rejects pending waits', async () => {
    const waiting = rejectionOf(fake.waitFor('views.open'));

    await fake.close();
    fake = await FakeSlack.start();

    expect(String(await waiting)).toContain('closed');
  });

  it('clear forgets recorded calls', async () => {
    await client.auth.test();

    fake.clear();

    expect(fake.calls()).toEqual([]);
  });
});

describe('response urls', () => {
  it('posts to a response url are recorded', async () => {
    const url = fake.responseUrl();

    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', text: 'Activated' }),
    });

    expect(response.status).toBe(200);
    const call = await fake.waitFor('response_url', (recorded) => recorded.url === url, 1);
    expect(call.body).toEqual({ response_type: 'ephemeral', text: 'Activated' });
  });

  it('response url rejects a message over the block limit', async () => {
    const response = await fetch(fake.responseUrl(), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'x', blocks: repeat(51, () => section('x')) }),
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ ok: false, error: 'invalid_blocks' });
  });

  it('unknown response url is 404', async () => {
    const response = await fetch(`${fake.apiUrl.replace('/api/', '/response/')}nope`, { method: 'POST', body: '{}' });

    expect(response.status).toBe(404);
  });
});

describe('signed requests', () => {
  // The worked example on https://docs.slack.dev/authentication/verifying-requests-from-slack.
  const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
  const DOC_TIMESTAMP = 1531420618;
  const DOC_BODY =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&' +
    'channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&' +
    'response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&' +
    'trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

  it("sign matches Slack's worked example", () => {
    expect(sign(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY)).toBe(DOC_SIGNATURE);
  });

  it('sign matches an HMAC computed here', () => {
    const body = eventBody({ event: { type: 'app_home_opened', user: 'UALICE' } });
    const expected = `v0=${createHmac('sha256', 'secret').update(`v0:1700000000:${body}`).digest('hex')}`;

    expect(sign('secret', 1700000000, body)).toBe(expected);
  });

  it("signature headers pass Bolt's verifier", () => {
    const body = slashCommandBody({ userId: 'UALICE', text: 'status', triggerId: '1.2.ab', responseUrl: 'http://x/' });
    const headers = signatureHeaders('secret', 1700000000, body);

    const verify = (): void =>
      verifySlackRequest({
        signingSecret: 'secret',
        body,
        headers: {
          'x-slack-signature': headers['X-Slack-Signature'] ?? '',
          'x-slack-request-timestamp': Number(headers['X-Slack-Request-Timestamp']),
        },
        nowMilliseconds: 1700000000 * 1000,
      });

    expect(verify).not.toThrow();
  });

  it('slash command body has the fields Slack sends', () => {
    const body = slashCommandBody({
      userId: 'UALICE',
      text: 'activate "Global Administrator" 2h',
      triggerId: '1.2.ab',
      responseUrl: 'http://127.0.0.1/response/1',
    });

    const fields = Object.fromEntries(new URLSearchParams(body));
    expect(Object.keys(fields)).toEqual([
      'token',
      'team_id',
      'team_domain',
      'channel_id',
      'channel_name',
      'user_id',
      'user_name',
      'command',
      'text',
      'api_app_id',
      'is_enterprise_install',
      'response_url',
      'trigger_id',
    ]);
    expect(fields.command).toBe('/pim');
    expect(fields.text).toBe('activate "Global Administrator" 2h');
  });

  it('block actions body carries one action', () => {
    const body = blockActionsBody({ userId: 'UALICE', actionId: 'approve', value: 'req-1', triggerId: '1.2.ab' });

    const payload = JSON.parse(new URLSearchParams(body).get('payload') ?? '{}') as JsonObject;
    expect(payload.type).toBe('block_actions');
    expect(payload.user).toMatchObject({ id: 'UALICE' });
    const expectedAction = expect.objectContaining({ action_id: 'approve', value: 'req-1', type: 'button' });
    expect(payload.actions).toEqual([expectedAction]);
  });

  it('postSigned rejects non-loopback hosts', async () => {
    const error = await rejectionOf(postSigned('http://example.com/slack/events', '', 'text/plain', 'secret'));

    expect(String(error)).toContain('is not a loopback address');
  });
});

describe('SlackSender with a Bolt app', () => {
  const SIGNING_SECRET = 'test-signing-secret';
  const FORM = 'application/x-www-form-urlencoded';
  let app: App;
  let sender: SlackSender;
  let baseUrl: string;

  beforeEach(async () => {
    app = new App({
      token: fake.botToken,
      signingSecret: SIGNING_SECRET,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
      logLevel: LogLevel.ERROR,
    });
    app.command('/pim', async ({ ack, body, client: boltClient, respond }) => {
      await ack();
      await boltClient.views.open({
        trigger_id: body.trigger_id,
        view: modal({ callback_id: 'activate', private_metadata: '{"role":"ga"}' }),
      });
      await respond({ response_type: 'ephemeral', text: 'Opening the activation form' });
    });
    app.view('activate', async ({ ack, view }) => {
      await ack({ response_action: 'errors', errors: { duration: `metadata ${view.private_metadata}` } });
    });
    app.action('approve', async ({ ack, respond }) => {
      await ack();
      await respond({ replace_original: true, text: 'Approved' });
    });
    app.event('app_home_opened', async ({ event, client: boltClient }) => {
      await boltClient.views.publish({ user_id: event.user, view: { type: 'home', blocks: [section('home')] } });
    });
    const server = await app.start({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    sender = new SlackSender({ baseUrl, signingSecret: SIGNING_SECRET, fake });
  });

  afterEach(async () => {
    await app.stop();
  });

  it('command opens a modal and responds', async () => {
    const result = await sender.command('UALICE', 'activate');

    expect(result.status).toBe(200);
    const opened = await fake.waitFor('views.open');
    expect(opened.response).toMatchObject({ ok: true });
    const responded = await fake.waitFor('response_url', (call) => call.url === result.responseUrl);
    expect(responded.body.text).toBe('Opening the activation form');
  });

  it('submitView reuses the opened modal', async () => {
    const command = await sender.command('UALICE', 'activate');
    await fake.waitFor('response_url', (call) => call.url === command.responseUrl);

    const result = await sender.submitView('UALICE', { values: {} });

    expect(result.view.id).toBe(fake.lastView('UALICE')?.id);
    expect(result.json).toEqual({ response_action: 'errors', errors: { duration: 'metadata {"role":"ga"}' } });
  });

  it('action carries a response url', async () => {
    const result = await sender.action('UBOB', { actionId: 'approve', value: 'req-1' });

    expect(result.status).toBe(200);
    const responded = await fake.waitFor('response_url', (call) => call.url === result.responseUrl);
    expect(responded.body).toMatchObject({ replace_original: true, text: 'Approved' });
  });

  it('event reaches the app', async () => {
    const result = await sender.appHomeOpened('UALICE');

    expect(result.status).toBe(200);
    const published = await fake.waitFor('views.publish');
    expect(published.body.user_id).toBe('UALICE');
  });

  it('bad signature is rejected', async () => {
    const body = slashCommandBody({ userId: 'UALICE', text: '', triggerId: '1.2.ab', responseUrl: fake.responseUrl() });

    const result = await postSigned(`${baseUrl}/slack/events`, body, FORM, SIGNING_SECRET, { signature: 'v0=0000' });

    expect(result.status).toBe(401);
  });

  it('stale timestamp is rejected', async () => {
    const body = slashCommandBody({ userId: 'UALICE', text: '', triggerId: '1.2.ab', responseUrl: fake.responseUrl() });
    const tenMinutesAgo = Math.floor(Date.now() / 1000) - 600;
    const options = { timestamp: tenMinutesAgo };

    const result = await postSigned(`${baseUrl}/slack/events`, body, FORM, SIGNING_SECRET, options);

    expect(result.status).toBe(401);
  });
});

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

// WebClient logs each rejected call at error level, and these tests expect rejections.
const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

function webClient(token: string, options: WebClientOptions = {}): WebClient {
  return new WebClient(token, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    logger: silentLogger,
    ...options,
  });
}

async function rawPost(method: string, body: string, headers: Record<string, string> = {}): Promise<unknown> {
  const response = await fetch(`${fake.apiUrl}${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  return response.json();
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

// Returns the Slack error code and response_metadata messages of a call that WebClient rejected.
async function slackErrorOf(promise: Promise<unknown>): Promise<{ error: string; messages: string[] }> {
  const error = await rejectionOf(promise);
  if (!isPlatformError(error)) {
    throw error;
  }
  return { error: error.data.error, messages: error.data.response_metadata?.messages ?? [] };
}

function isPlatformError(
  error: unknown,
): error is { code: string; data: { error: string; response_metadata?: { messages?: string[] } } } {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === ErrorCode.PlatformError;
}

function repeat<T>(count: number, make: (index: number) => T): T[] {
  return Array.from({ length: count }, (_, index) => make(index));
}

function plain(text: string): { type: 'plain_text'; text: string } {
  return { type: 'plain_text', text };
}

function section(text: string): { type: 'section'; text: { type: 'mrkdwn'; text: string } } {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function header(text: string): JsonObject {
  return { type: 'header', text: plain(text) };
}

function button(text: string): JsonObject {
  return { type: 'button', text: plain(text), action_id: 'press', value: 'v' };
}

function actions(...elements: JsonObject[]): JsonObject {
  return { type: 'actions', elements };
}

function option(text: string): JsonObject {
  return { text: plain(text), value: 'value' };
}

function withSelect(options: JsonObject[]): JsonObject {
  return {
    ...section('pick'),
    accessory: { type: 'static_select', action_id: 'pick', placeholder: plain('Role'), options },
  };
}

type ModalView = { type: 'modal'; title: { type: 'plain_text'; text: string }; blocks: never[] };

// Returns a minimal valid modal, with `fields` overriding or adding view fields.
function modal(fields: JsonObject = {}): ModalView {
  return { type: 'modal', title: plain('Activate role'), blocks: [], ...fields } as ModalView;
}
