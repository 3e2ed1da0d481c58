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
 * 503, because the stand-in needs the bound port to build its URLs.
 */
export async function listenSandbox(port: number, host: string, logger: Logger): Promise<SandboxServer> {
  let handlers: RequestHandler[] = [];
  let appPort: number | undefined;

  const server: Server = createServer((request, response) => {
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
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
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
