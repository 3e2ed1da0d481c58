import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { OpsRoute } from './health.js';

/** A plain HTTP server for the health and metrics routes, where Bolt's HTTP receiver does not run. */
export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `routes` on `port` (0 picks a free one) of `host` (every interface when unset): used by
 * worker-only and Socket Mode processes, which have no Slack endpoint to share a server with.
 */
export async function startOpsServer(port: number, routes: OpsRoute[], host?: string): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = routes.find((candidate) => candidate.path === path && candidate.method.includes(req.method ?? ''));
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    route.handler(req, res);
  });
  server.listen({ port, ...(host === undefined ? {} : { host }) });
  await once(server, 'listening');
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
