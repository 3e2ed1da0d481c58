/** JSON values, request bodies and Slack-shaped replies shared by the stand-in's HTTP handlers. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bounds the memory of one request. The largest payload Slack documents, a 250 kB view, fits well within it. */
export const MAX_REQUEST_BYTES = 5 * 1024 * 1024;

export type JsonObject = Record<string, unknown>;

/** An HTTP reply: a JSON object, or text for errors that Slack sends as text. */
export interface Reply {
  status: number;
  body: JsonObject | string;
  headers?: Record<string, string>;
}

/** Reads a whole request body as UTF-8, or returns `undefined` when it exceeds {@link MAX_REQUEST_BYTES}. */
export async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_REQUEST_BYTES) {
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes a reply, as JSON unless its body is text. */
export function sendReply(response: ServerResponse, reply: Reply): void {
  const payload = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  response.writeHead(reply.status, {
    'Content-Type': typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...reply.headers,
  });
  response.end(payload);
}

/** Builds Slack's success reply. */
export function slackOk(fields: JsonObject): Reply {
  return { status: 200, body: { ok: true, ...fields } };
}

/**
 * Builds Slack's error reply: HTTP 200 with `ok: false`. Slack lists Block Kit problems in
 * `response_metadata.messages`, one line per problem.
 */
export function slackError(error: string, messages?: string[]): Reply {
  const body: JsonObject = { ok: false, error };
  if (messages !== undefined && messages.length > 0) {
    body.response_metadata = { messages };
  }
  return { status: 200, body };
}

/** Returns whether a reply is a failure: a non-200 status, a text body or `ok: false`. */
export function isFailedResponse(response: JsonObject | string): boolean {
  return typeof response === 'string' || response.ok !== true;
}

export function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses JSON text that must hold an object; anything else is `undefined`. */
export function parseJsonObject(raw: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Returns a string field of an object, or `undefined`. */
export function stringField(object: JsonObject | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === 'string' ? value : undefined;
}
