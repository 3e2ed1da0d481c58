/**
 * Signed requests from the stand-in to the app's `POST /slack/events`, the way Slack sends them.
 *
 * Signing follows https://docs.slack.dev/authentication/verifying-requests-from-slack: the
 * `X-Slack-Signature` header is `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` keyed with
 * the app's signing secret, and `X-Slack-Request-Timestamp` carries the timestamp in seconds.
 */
import { createHmac } from 'node:crypto';
import { parseJsonObject, type JsonObject } from './http-io.js';

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
export const JSON_CONTENT_TYPE = 'application/json';

/** Where the app listens and the secret it verifies requests with. */
export interface AppEndpoint {
  /** Full URL of the app's `POST /slack/events`. */
  eventsUrl: string;
  signingSecret: string;
}

/** The app's answer to one request. A timeout or refused connection has no status. */
export type AppAnswer =
  | { ok: true; status: number; body: string; json: JsonObject | undefined }
  | { ok: false; reason: 'timeout' | 'unreachable'; detail: string };

/** Computes Slack's v0 request signature of a raw body. */
export function sign(secret: string, timestamp: number | string, rawBody: string): string {
  const digest = createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex');
  return `v0=${digest}`;
}

/** Returns the two headers Slack adds to a signed request. */
export function signatureHeaders(secret: string, timestamp: number, rawBody: string): Record<string, string> {
  return {
    'X-Slack-Signature': sign(secret, timestamp, rawBody),
    'X-Slack-Request-Timestamp': String(timestamp),
  };
}

/** Sends a signed request to the app and waits for its answer at most `timeoutMs`. */
export async function postToApp(
  endpoint: AppEndpoint,
  rawBody: string,
  contentType: string,
  timeoutMs: number,
): Promise<AppAnswer> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const response = await fetch(endpoint.eventsUrl, {
      method: 'POST',
      headers: { ...signatureHeaders(endpoint.signingSecret, timestamp, rawBody), 'Content-Type': contentType },
      body: rawBody,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    return { ok: true, status: response.status, body, json: body === '' ? undefined : parseJsonObject(body) };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return { ok: false, reason: timedOut ? 'timeout' : 'unreachable', detail };
  }
}

/** Encodes an interaction payload as Slack does: a form with one `payload` field of JSON. */
export function interactionForm(payload: JsonObject): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** Encodes a slash command as Slack does, with its fields in Slack's order. */
export function slashCommandForm(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}
