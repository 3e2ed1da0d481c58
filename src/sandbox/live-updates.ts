/**
 * Live updates of the sandbox page over Server-Sent Events: each change of the workspace sends a
 * small event, and the page then fetches the state it shows again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

// A comment line now and then keeps idle connections open through proxies and lets a closed
// tab be noticed.
const HEARTBEAT_INTERVAL_MS = 15_000;
// Tells EventSource to reconnect quickly after the server restarts.
const RECONNECT_DELAY_MS = 500;
// Changes within this window are sent as one event, so a burst of posts costs one refresh.
const COALESCE_WINDOW_MS = 30;

/** Open event streams and the change counter they report. */
export class LiveUpdates {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;
  private pending: NodeJS.Timeout | undefined;
  private version = 0;

  constructor() {
    this.heartbeat = setInterval(() => this.write(': heartbeat\n\n'), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  /** The number of changes so far; the page compares it to skip refreshes it already has. */
  get currentVersion(): number {
    return this.version;
  }

  /** Serves `GET /sandbox/events`: an event stream that stays open until the page goes away. */
  open(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    response.write(`retry: ${RECONNECT_DELAY_MS}\n`);
    response.write(`event: changed\ndata: ${JSON.stringify({ version: this.version })}\n\n`);
    this.clients.add(response);
    request.on('close', () => this.clients.delete(response));
  }

  /** Counts a change and sends it to every open page soon. */
  changed(): void {
    this.version += 1;
    if (this.pending !== undefined) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.write(`event: changed\ndata: ${JSON.stringify({ version: this.version })}\n\n`);
    }, COALESCE_WINDOW_MS);
  }

  /** Ends every stream, so that the HTTP server can close. */
  close(): void {
    clearInterval(this.heartbeat);
    if (this.pending !== undefined) clearTimeout(this.pending);
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private write(chunk: string): void {
    for (const client of this.clients) client.write(chunk);
  }
}
