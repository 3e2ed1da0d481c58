import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SocketModeStatus } from '../../src/slack/socket-connection.js';
import { FakeSlack } from '../support/fake-slack.js';
import { createTestEnvironment, eventually, startTestApp, type TestApp, type TestEnvironment } from '../support/harness.js';
import { freePort } from '../support/private-servers.js';
import { slashCommandBody } from '../support/slack-requests.js';

const USER = 'USOCKET1';

/** A stand-in for Slack's Socket Mode endpoint that sends `hello` to each client and records its acks. */
class FakeSocketServer {
  private server: WebSocketServer | undefined;
  readonly sockets: WebSocket[] = [];
  readonly acks: Record<string, unknown>[] = [];

  constructor(readonly port: number) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  async listen(): Promise<void> {
    this.server = new WebSocketServer({ port: this.port, host: '127.0.0.1' });
    await once(this.server, 'listening');
    this.server.on('connection', (socket) => {
      this.sockets.push(socket);
      socket.on('message', (data) => this.acks.push(JSON.parse(String(data)) as Record<string, unknown>));
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0TEST' } }));
    });
  }

  /** Closes every client connection abruptly, as a network drop would. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.terminate();
  }

  /** Stops listening, so new connections are refused. */
  async close(): Promise<void> {
    this.dropConnections();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Sends a `/pim` command envelope to the newest connection. */
  sendCommand(userId: string, text: string, fake: FakeSlack): { envelopeId: string; responseUrl: string } {
    const envelopeId = randomBytes(8).toString('hex');
    const responseUrl = fake.responseUrl();
    const payload = Object.fromEntries(
      new URLSearchParams(slashCommandBody({ userId, text, triggerId: fake.issueTriggerId(userId), responseUrl })),
    );
    const socket = this.sockets.at(-1);
    if (socket === undefined) throw new Error('no Socket Mode connection');
    socket.send(JSON.stringify({ envelope_id: envelopeId, type: 'slash_commands', accepts_response_payload: true, payload }));
    return { envelopeId, responseUrl };
  }
}

let environment: TestEnvironment;
let fake: FakeSlack;
let socketServer: FakeSocketServer;
let app: TestApp;

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  fake.setUser({ id: USER, tz: 'UTC' });
  socketServer = new FakeSocketServer(await freePort());
  await socketServer.listen();
  fake.setSocketModeUrl(socketServer.url);
  app = await startTestApp({ environment, fake, appToken: fake.appToken });
});

afterAll(async () => {
  await app?.stop();
  await socketServer?.close();
  await fake?.close();
  await environment?.destroy();
});

async function health(): Promise<{ socketMode: SocketModeStatus }> {
  return (await (await fetch(`${app.baseUrl}/healthz`)).json()) as { socketMode: SocketModeStatus };
}

async function readyStatus(): Promise<number> {
  return (await fetch(`${app.baseUrl}/readyz`)).status;
}

async function expectCommandWorks(): Promise<void> {
  const { envelopeId, responseUrl } = socketServer.sendCommand(USER, 'help', fake);
  await eventually(async () => (socketServer.acks.some((ack) => ack.envelope_id === envelopeId) ? true : undefined));
  const reply = await fake.waitFor('response_url', (call) => call.url === responseUrl);
  expect(String(reply.body.text)).toContain('/pim activate');
}

describe('Socket Mode', () => {
  it('connects and handles a command', async () => {
    expect(await readyStatus()).toBe(200);
    expect((await health()).socketMode.connected).toBe(true);
    await expectCommandWorks();
  });

  it('reconnects after a dropped connection and shows the gap', async () => {
    const opened = fake.calls('apps.connections.open').length;
    socketServer.dropConnections();
    const status = await eventually(async () => {
      const current = (await health()).socketMode;
      return current.connected && current.reconnects >= 1 ? current : undefined;
    });
    expect(status.lastGapMs).toEqual(expect.any(Number));
    expect(fake.calls('apps.connections.open').length).toBeGreaterThan(opened);
    await expectCommandWorks();
  });

  it('keeps retrying refused connections with backoff until Slack is back', async () => {
    await socketServer.close();
    await eventually(async () => ((await readyStatus()) === 503 ? true : undefined));
    const down = (await health()).socketMode;
    expect(down.connected).toBe(false);
    expect(down.disconnectedSince).toEqual(expect.any(String));

    const opened = fake.calls('apps.connections.open').length;
    fake.failNext('apps.connections.open', { status: 503 });
    await eventually(async () => (fake.calls('apps.connections.open').length >= opened + 3 ? true : undefined), 30_000);
    const attempts = fake.calls('apps.connections.open').slice(opened);
    const gaps = attempts.slice(1).map((call, index) => call.at - (attempts[index]?.at ?? call.at));
    expect(gaps.at(-1)).toBeGreaterThan(gaps[0] ?? 0);

    await socketServer.listen();
    await eventually(async () => ((await readyStatus()) === 200 ? true : undefined), 45_000);
    expect((await health()).socketMode.reconnects).toBeGreaterThanOrEqual(2);
    await expectCommandWorks();
  }, 90_000);
});
