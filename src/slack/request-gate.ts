import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { App, ReceiverEvent } from '@slack/bolt';
import { formatSeconds } from '../domain/duration.js';
import type { InFlight } from '../in-flight.js';
import type { Logger } from '../logger.js';
import type { Metrics, SlackRequestType } from '../metrics.js';
import { currentDeferredWork, currentRequestOutcome, runWithLogFields, setRequestOutcome, type LogFields } from '../request-context.js';
import type { RequestRateLimiter } from './rate-limit.js';
import { withStorableText } from './storable-text.js';

/** Dependencies of the gate that every Slack request passes before Bolt's listeners see it. */
export interface RequestGateOptions {
  logger: Logger;
  metrics: Metrics;
  inFlight: InFlight;
  /** `undefined` turns the per-user limit off. */
  rateLimiter: RequestRateLimiter | undefined;
}

interface RequestInfo {
  type: SlackRequestType;
  userId: string | undefined;
  teamId: string | undefined;
}

/**
 * Wraps `app.processEvent` for Bolt's receiver to dispatch to. Every request then gets a
 * `requestId` and its user on every log line, a rate-limit check, its ack latency and outcome
 * in the metrics, and a place in `inFlight` until its handler finishes. Install the result with
 * `receiver.init(gate)` after the App is built, because the App's constructor calls `init` with
 * itself.
 */
export function createRequestGate(app: App, options: RequestGateOptions): App {
  const gate = Object.create(app) as App;
  gate.processEvent = (event: ReceiverEvent) => options.inFlight.track(handle(app, event, options));
  return gate;
}

async function handle(app: App, event: ReceiverEvent, options: RequestGateOptions): Promise<void> {
  const receivedAt = performance.now();
  const info = describeRequest(event.body);
  let acked = false;
  const ack: ReceiverEvent['ack'] = async (response) => {
    if (!acked) {
      acked = true;
      options.metrics.ackDuration.observe({ type: info.type }, (performance.now() - receivedAt) / 1000);
    }
    return event.ack(response);
  };
  const fields: LogFields = { requestId: randomBytes(6).toString('hex'), requestType: info.type };
  if (info.userId !== undefined) fields.userId = info.userId;
  if (info.teamId !== undefined) fields.teamId = info.teamId;

  await runWithLogFields(fields, async () => {
    try {
      if (await isRateLimited(info, ack, options)) return;
      // Slack may pass on characters that PostgreSQL cannot store, and a write that fails on
      // them would fail again however often the user retried.
      await app.processEvent({ ...event, body: withStorableText(event.body), ack });
    } catch (error) {
      setRequestOutcome('error');
      throw error;
    } finally {
      countRequest(options.metrics, info.type, currentDeferredWork());
    }
  });
}

/**
 * Counts the request's outcome now, or when the work it queued after its ack ends. Defined apart
 * from `handle` so that the callback waiting for that work keeps no reference to the request.
 */
function countRequest(metrics: Metrics, type: SlackRequestType, deferred: Promise<unknown> | undefined): void {
  const count = () => metrics.slackRequests.inc({ type, outcome: currentRequestOutcome() });
  if (deferred === undefined) count();
  else deferred.then(count, count);
}

// Events (Home tab opened) come from Slack, not from a click, and are not counted.
async function isRateLimited(info: RequestInfo, ack: ReceiverEvent['ack'], options: RequestGateOptions): Promise<boolean> {
  if (options.rateLimiter === undefined || info.userId === undefined || info.type === 'event') return false;
  let verdict;
  try {
    verdict = await options.rateLimiter.consume(info.userId);
  } catch (error) {
    // Fails open: a broken limiter must not lock everyone out of their access.
    options.logger.warn({ err: error }, 'rate limiter failed; request let through');
    return false;
  }
  if (verdict.allowed) return false;
  setRequestOutcome('rate_limited');
  const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
  options.logger.warn({ retryAfterSeconds }, 'request rejected by the per-user rate limit');
  await ack(rateLimitReply(info.type, retryAfterSeconds));
  return true;
}

// The ack body is the only reply that needs no database or Web API call. Commands show it as an
// ephemeral message; a modal submission pushes a small modal; a click gets a bare ack.
function rateLimitReply(type: SlackRequestType, retryAfterSeconds: number): Record<string, unknown> | undefined {
  const text = `You are sending requests faster than slack-pim allows. Try again in ${formatSeconds(retryAfterSeconds)}.`;
  if (type === 'command') return { response_type: 'ephemeral', text };
  if (type === 'view_submission') {
    return {
      response_action: 'push',
      view: {
        type: 'modal',
        title: { type: 'plain_text', text: 'Slow down' },
        close: { type: 'plain_text', text: 'Back' },
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
      },
    };
  }
  return undefined;
}

function describeRequest(body: Record<string, unknown>): RequestInfo {
  if (typeof body.command === 'string') {
    return { type: 'command', userId: stringField(body, 'user_id'), teamId: stringField(body, 'team_id') };
  }
  const user = typeof body.user === 'object' && body.user !== null ? (body.user as Record<string, unknown>) : undefined;
  const team = typeof body.team === 'object' && body.team !== null ? (body.team as Record<string, unknown>) : undefined;
  const userId = user === undefined ? undefined : stringField(user, 'id');
  const teamId = team === undefined ? stringField(body, 'team_id') : stringField(team, 'id');
  if (body.type === 'block_actions') return { type: 'block_actions', userId, teamId };
  if (body.type === 'view_submission') return { type: 'view_submission', userId, teamId };
  if (body.type === 'event_callback') {
    const event = typeof body.event === 'object' && body.event !== null ? (body.event as Record<string, unknown>) : {};
    return { type: 'event', userId: stringField(event, 'user'), teamId: stringField(body, 'team_id') };
  }
  return { type: 'other', userId, teamId };
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}
