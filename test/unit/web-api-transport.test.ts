import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWebApiTransport } from '../../src/slack/web-api-transport.js';

/** A request as the test server received it. */
interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (request: Received, response: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let received: Received[];
let handler: Handler;
let transport: ReturnType<typeof createWebApiTransport>;

beforeEach(async () => {
  received = [];
  handler = (_request, response) => json(response, 200, { ok: true });
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const receivedRequest = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(receivedRequest);
      handler(receivedRequest, response);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  transport = createWebApiTransport();
});

afterEach(async () => {
  server.closeAllConnections();
  server.close();
  await transport.close();
});

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

function client(options: { timeout?: number; rejectRateLimitedCalls?: boolean } = {}): WebClient {
  return new WebClient('xoxb-transport-test', {
    slackApiUrl: `${baseUrl}/api/`,
    fetch: transport.fetch,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
    ...options,
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

describe('the Web API transport', () => {
  it('sends a call and parses the result', async () => {
    handler = (_request, response) =>
      json(response, 200, { ok: true, channel: 'D1', ts: '1.2' }, { 'X-OAuth-Scopes': 'chat:write, users:read' });

    const result = await client().chat.postMessage({ channel: 'U1', text: 'héllo & goodbye' });

    expect(result).toMatchObject({ ok: true, channel: 'D1', ts: '1.2' });
    expect(result.response_metadata?.scopes).toEqual(['chat:write', 'users:read']);
    const [call] = received;
    expect(call?.method).toBe('POST');
    expect(call?.path).toBe('/api/chat.postMessage');
    expect(call?.headers.authorization).toBe('Bearer xoxb-transport-test');
    expect(call?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(call?.body).get('text')).toBe('héllo & goodbye');
  });

  it('reports a 429 as rate-limited', async () => {
    handler = (_request, response) => json(response, 429, { ok: false, error: 'ratelimited' }, { 'Retry-After': '7' });

    const error = await rejectionOf(client({ rejectRateLimitedCalls: true }).chat.postMessage({ channel: 'U1', text: 'x' }));

    expect(error.code).toBe(ErrorCode.RateLimitedError);
    expect(error.retryAfter).toBe(7);
  });

  it('reports a 503 as HTTP error', async () => {
    handler = (_request, response) => {
      response.writeHead(503, { 'content-type': 'text/plain', 'x-trace': 'abc' });
      response.end('down for maintenance');
    };

    const error = await rejectionOf(client().chat.postMessage({ channel: 'U1', text: 'x' }));

    expect(error.code).toBe(ErrorCode.HTTPError);
    expect(error.statusCode).toBe(503);
    expect(error.headers).toMatchObject({ 'x-trace': 'abc' });
    expect(error.body).toBe('down for maintenance');
  });

  it('does not follow a redirect', async () => {
    handler = (request, response) => {
      if (request.path === '/elsewhere') return json(response, 200, { ok: true });
      response.writeHead(302, { location: `${baseUrl}/elsewhere` });
      response.end();
    };

    const error = await rejectionOf(client().chat.postMessage({ channel: 'U1', text: 'x' }));

    expect(error.code).toBe(ErrorCode.HTTPError);
    expect(error.statusCode).toBe(302);
    expect(received.map((request) => request.path)).toEqual(['/api/chat.postMessage']);
  });

  it('times out a hung call', async () => {
    handler = () => undefined;

    const error = await rejectionOf(client({ timeout: 100 }).chat.postMessage({ channel: 'U1', text: 'x' }));

    expect(error.code).toBe(ErrorCode.RequestError);
  });

  it('returns a fetch-like reply response', async () => {
    handler = (_request, response) =>
      json(response, 200, { ok: true }, { 'Set-Cookie': ['a=1', 'b=2'], 'X-Request-Id': 'r1' });

    const response = await transport.fetch(`${baseUrl}/actions/T1/123/abc`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'done', response_type: 'ephemeral' }),
    });

    expect(response.ok).toBe(true);
    expect(response.status).toBe(200);
    expect(response.url).toBe(`${baseUrl}/actions/T1/123/abc`);
    expect(response.headers.get('x-request-id')).toBe('r1');
    expect(response.headers.get('X-Request-ID')).toBe('r1');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(response.headers.get('x-missing')).toBeNull();
    expect(Object.fromEntries(response.headers.entries())).toMatchObject({ 'x-request-id': 'r1' });
    expect(await response.json()).toEqual({ ok: true });
    expect(JSON.parse(received[0]?.body ?? '')).toEqual({ text: 'done', response_type: 'ephemeral' });
  });

  it('reports a failed reply as not ok', async () => {
    handler = (_request, response) => {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('expired_url');
    };

    const response = await transport.fetch(`${baseUrl}/actions/T1/123/abc`, { method: 'POST', body: '{}' });

    expect(response.ok).toBe(false);
    expect(response.status).toBe(404);
    expect(response.statusText).toBe('Not Found');
    expect(await response.text()).toBe('expired_url');
    expect(new TextDecoder().decode(await response.arrayBuffer())).toBe('expired_url');
  });
});
