/**
 * The sandbox's HTTP server on `PORT`: the stand-in's Web API and response URLs, the page, and,
 * for every other path, the app itself. The app listens on a loopback port of its own behind it,
 * so the page and the Web API stay up while a reset restarts the app.
 */
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import { sendReply } from './http-io.js';

// Names the page is reached at from this machine. A DNS-rebinding page reaches 127.0.0.1 under a
// name of its own, and the browser sends that name in Host, so any other Host is rejected.
const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/;

/** Returns whether a Host header names this machine's loopback on `port`, as the page's URL does. */
export function isLoopbackHost(host: string | undefined, port: number): boolean {
  const match = HOST_HEADER.exec((host ?? '').toLowerCase());
  if (match === null || !LOOPBACK_HOSTNAMES.has(match[1] ?? '')) return false;
  // Browsers leave out the port only when it is HTTP's default.
  return (match[2] ?? '80') === String(port);
}

/** Serves a request and returns true, or returns false, having read nothing, to pass it on. */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

/** A listening sandbox server. */
export interface SandboxServer {
  port: number;
  /** Sets the routes tried in order before a request goes to the app. */
  route(handlers: RequestHandler[]): void;
  /** Sets the app's port, or `undefined` while it restarts. */
  setAppPort(port: number | undefined): void;
  close(): Promise<void>;
}

/**
 * Starts listening on `port` of `host`. Requests before {@link SandboxServer.route} is called get
 * 503, because the stand-in needs the bound port to build its URLs. Requests whose Host header
 * is not a loopback name with the bound port get 403.
 */
export async function listenSandbox(port: number, host: string, logger: Logger): Promise<SandboxServer> {
  let handlers: RequestHandler[] = [];
  let appPort: number | undefined;
  // Set once listening, which is before any request arrives.
  let boundPort = port;

  const server: Server = createServer((request, response) => {
    if (!isLoopbackHost(request.headers.host, boundPort)) {
      logger.warn({ host: request.headers.host, path: request.url }, 'sandbox: rejected a request whose Host is not a loopback name');
      sendReply(response, {
        status: 403,
        body: `Host must be localhost, 127.0.0.1 or [::1] with port ${boundPort}: open http://localhost:${boundPort}/`,
      });
      return;
    }
    void dispatch(request, response).catch((error: unknown) => {
      logger.error({ err: error, path: request.url }, 'sandbox request failed');
      if (!response.headersSent) sendReply(response, { status: 500, body: 'the sandbox failed; see its log' });
      else response.end();
    });
  });

  async function dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for (const handler of handlers) {
      if (await handler(request, response)) return;
    }
    if (appPort === undefined) {
      sendReply(response, { status: 503, body: 'the sandbox app is starting or resetting; try again in a moment' });
      return;
    }
    forward(request, response, appPort);
  }

  server.listen(port, host);
  await once(server, 'listening');
  boundPort = (server.address() as AddressInfo).port;
  return {
    port: boundPort,
    route: (next) => {
      handlers = next;
    },
    setAppPort: (next) => {
      appPort = next;
    },
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

// Passes a request to the app on loopback, and the app's response back unchanged.
function forward(request: IncomingMessage, response: ServerResponse, port: number): void {
  const upstream = httpRequest(
    { host: '127.0.0.1', port, method: request.method, path: request.url, headers: request.headers },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  upstream.on('error', (error) => {
    if (!response.headersSent) sendReply(response, { status: 502, body: `the sandbox app did not answer: ${error.message}` });
    else response.end();
  });
  request.pipe(upstream);
}
