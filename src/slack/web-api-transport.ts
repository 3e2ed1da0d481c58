import type { FetchFunction } from '@slack/web-api';
import { Agent, request, type Dispatcher } from 'undici';

type FetchResponse = Awaited<ReturnType<FetchFunction>>;
type IncomingHeaders = Dispatcher.ResponseData['headers'];

/**
 * Creates the transport of every Web API call and `response_url` reply, given to `@slack/web-api`
 * and to Bolt as their `fetch` option. It sends through undici's `request` on an agent of its own,
 * because the global `fetch` took more of a direct activation's CPU profile than the whole Bolt
 * app. In a loopback test one call cost about 170 µs of CPU time here, against 430 to 480 µs
 * through `fetch`. The clients read only a response's status, headers and body (web-api's
 * `FetchResponse`), so the transport builds only those.
 *
 * Redirects are never followed. A redirect reaches the caller as a non-200 status, which both
 * clients report as an HTTP error. File uploads (a `FormData` body) go through the global
 * `fetch`; slack-pim sends none.
 */
export function createWebApiTransport(): { fetch: FetchFunction; close(): Promise<void> } {
  const agent = new Agent();
  const transport: FetchFunction = async (url, init = {}) => {
    if (init.body !== undefined && typeof init.body !== 'string') return globalThis.fetch(url, init);
    const href = typeof url === 'string' ? url : url.href;
    const response = await request(href, {
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: init.headers,
      body: init.body,
      signal: init.signal,
      dispatcher: agent,
    });
    const body = Buffer.from(await response.body.arrayBuffer());
    return new TransportResponse(href, response.statusCode, response.statusText, response.headers, body);
  };
  return { fetch: transport, close: () => agent.close() };
}

class TransportResponse implements FetchResponse {
  readonly ok: boolean;
  readonly headers: ResponseHeaders;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    headers: IncomingHeaders,
    private readonly body: Buffer,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = new ResponseHeaders(headers);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.body.buffer.slice(this.body.byteOffset, this.body.byteOffset + this.body.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return this.body.toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.body.toString('utf8'));
  }
}

/** Response headers as `fetch` exposes them: lower-case names, repeated values joined by commas. */
class ResponseHeaders {
  constructor(private readonly headers: IncomingHeaders) {}

  get(name: string): string | null {
    const value = this.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.headers)) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }
}
