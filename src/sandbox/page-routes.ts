/**
 * The sandbox page and the JSON endpoints it calls: the page's files, its live event stream, the
 * state of one member, and what a member does (commands, clicks, submissions, closes, the Home
 * tab, a reset). Bodies must be JSON, which a cross-site form cannot send without a CORS
 * preflight that this server never answers.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseJsonObject, readBody, sendReply, type JsonObject } from './http-io.js';
import type { InteractionOutcome, SandboxInteractions } from './interactions.js';
import type { LiveUpdates } from './live-updates.js';
import { buildSnapshot } from './snapshot.js';
import type { SlackStandIn } from './stand-in.js';

export const PAGE_PATH_PREFIX = '/sandbox/';

const PAGE_FOLDER = fileURLToPath(new URL('./page/', import.meta.url));
// Page files are served by name from one folder, so a request cannot reach any other file.
const ASSET_NAME = /^[a-z][a-z0-9-]*\.(js|css|svg|html)$/;
const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  html: 'text/html; charset=utf-8',
};

const jsonObject = z.record(z.string(), z.unknown());
const commandBody = z.object({ userId: z.string(), channelId: z.string(), text: z.string().max(4_000) });
const actionBody = z.object({
  userId: z.string(),
  surface: z.discriminatedUnion('type', [
    z.object({ type: z.literal('message'), channelId: z.string(), ts: z.string() }),
    z.object({ type: z.literal('view'), viewId: z.string() }),
  ]),
  action: jsonObject,
  values: jsonObject.default({}),
});
const submitBody = z.object({ userId: z.string(), viewId: z.string(), values: jsonObject });
const closeBody = z.object({ userId: z.string(), viewId: z.string(), all: z.boolean().default(false) });
const homeBody = z.object({ userId: z.string() });

/** What the page routes work on. */
export interface PageDeps {
  standIn: SlackStandIn;
  interactions: SandboxInteractions;
  live: LiveUpdates;
  /** Wipes and reseeds the sandbox. */
  reset(): Promise<void>;
}

/**
 * Serves a request when it is for the page and returns true; returns false for any other path.
 */
export async function handlePageRequest(deps: PageDeps, request: IncomingMessage, response: ServerResponse): Promise<boolean> {
  const url = new URL(request.url ?? '/', 'http://sandbox');
  const path = url.pathname;
  if (request.method === 'GET' && (path === '/' || path === '/index.html')) {
    await serveAsset(response, 'index.html');
    return true;
  }
  if (!path.startsWith(PAGE_PATH_PREFIX)) return false;
  const route = path.slice(PAGE_PATH_PREFIX.length);

  if (request.method === 'GET') {
    if (route === 'events') {
      deps.live.open(request, response);
    } else if (route === 'state') {
      serveState(deps, url, response);
    } else if (route.startsWith('assets/')) {
      await serveAsset(response, route.slice('assets/'.length));
    } else {
      sendReply(response, { status: 404, body: `no such sandbox page: ${path}` });
    }
    return true;
  }
  if (request.method !== 'POST') {
    sendReply(response, { status: 405, body: `${request.method} is not allowed on ${path}` });
    return true;
  }
  const body = await readJsonBody(request);
  if (body === undefined) {
    sendReply(response, { status: 415, body: 'send a JSON object with Content-Type: application/json' });
    return true;
  }
  sendOutcome(response, await runPost(deps, route, body));
  return true;
}

async function runPost(deps: PageDeps, route: string, body: JsonObject): Promise<InteractionOutcome | { status: number; error: string }> {
  const { interactions } = deps;
  switch (route) {
    case 'command':
      return withMember(deps, commandBody, body, (input) => interactions.runCommand(input.userId, input.channelId, input.text));
    case 'action':
      return withMember(deps, actionBody, body, (input) =>
        interactions.blockAction(input.userId, input.surface, input.action, input.values),
      );
    case 'submit':
      return withMember(deps, submitBody, body, (input) => interactions.submitView(input.userId, input.viewId, input.values));
    case 'close':
      return withMember(deps, closeBody, body, (input) => interactions.closeView(input.userId, input.viewId, input.all));
    case 'home':
      return withMember(deps, homeBody, body, (input) => interactions.openHome(input.userId));
    case 'reset':
      await deps.reset();
      return { ok: true };
    default:
      return { status: 404, error: `no such sandbox endpoint: ${route}` };
  }
}

// Parses the body and checks that it names a member of the workspace, which the page offers.
async function withMember<T extends { userId: string }>(
  deps: PageDeps,
  schema: z.ZodType<T>,
  body: JsonObject,
  run: (input: T) => Promise<InteractionOutcome>,
): Promise<InteractionOutcome | { status: number; error: string }> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    return { status: 400, error: `invalid request: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}` };
  }
  if (deps.standIn.workspace.user(parsed.data.userId) === undefined) {
    return { status: 400, error: `unknown member ${parsed.data.userId}` };
  }
  return run(parsed.data);
}

function serveState(deps: PageDeps, url: URL, response: ServerResponse): void {
  const userId = url.searchParams.get('user') ?? '';
  if (deps.standIn.workspace.user(userId) === undefined) {
    sendReply(response, { status: 404, body: { ok: false, error: `unknown member ${userId}` } });
    return;
  }
  sendReply(response, { status: 200, body: buildSnapshot(deps.standIn, userId, deps.live.currentVersion) });
}

async function serveAsset(response: ServerResponse, name: string): Promise<void> {
  const extension = ASSET_NAME.exec(name)?.[1];
  const contentType = extension === undefined ? undefined : CONTENT_TYPES[extension];
  if (contentType === undefined) {
    sendReply(response, { status: 404, body: `no such file: ${name}` });
    return;
  }
  try {
    const content = await readFile(`${PAGE_FOLDER}${name}`);
    response.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-cache' });
    response.end(content);
  } catch {
    sendReply(response, { status: 404, body: `no such file: ${name}` });
  }
}

async function readJsonBody(request: IncomingMessage): Promise<JsonObject | undefined> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') return undefined;
  const raw = await readBody(request);
  return raw === undefined ? undefined : parseJsonObject(raw);
}

function sendOutcome(response: ServerResponse, outcome: InteractionOutcome | { status: number; error: string }): void {
  if ('status' in outcome) {
    sendReply(response, { status: outcome.status, body: { ok: false, error: outcome.error } });
    return;
  }
  sendReply(response, { status: 200, body: { ...outcome } });
}
