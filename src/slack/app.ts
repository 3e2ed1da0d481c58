import { App, HTTPReceiver, SocketModeReceiver, type Receiver } from '@slack/bolt';
import type { FetchFunction, WebClient } from '@slack/web-api';
import type { OpsRoute } from '../health.js';
import type { Logger } from '../logger.js';
import { registerActivationSubmission } from './activation-submission.js';
import { toBoltLogger } from './bolt-logger.js';
import { registerPimCommand } from './commands/index.js';
import type { SlackDeps } from './deps.js';
import { registerHome } from './home/register.js';
import { registerAdmin } from './admin/register.js';
import { registerApprovalActions } from './approval-actions.js';
import { registerSettingsSubmission } from './settings-submission.js';
import { registerUserGroupEvents } from './user-group-events.js';
import { createRequestGate, type RequestGateOptions } from './request-gate.js';
import { SocketConnection } from './socket-connection.js';
import pLimit from 'p-limit';
import { deferRequestWork, setRequestOutcome } from '../request-context.js';

/**
 * Handlers that run their post-ack work at once. Each runs a transaction of a few round trips,
 * so four keep the CPU busy under a burst while acks still get the event loop. Under a burst of
 * 50 concurrent activations in the benchmark, 2 gave an ack p99 of 80 to 126 ms, 4 about 133 ms
 * and 8 about 250 to 330 ms. Below 4, two slow Slack calls would hold up every other command.
 */
const AFTER_ACK_CONCURRENCY = 4;

/** Slack credentials and the bot identity resolved once at start-up. */
export interface SlackAppOptions {
  botToken: string;
  signingSecret: string | undefined;
  appToken: string | undefined;
  apiUrl: string | undefined;
  /** Transport of the Web API client and of `respond`. Bolt uses the global `fetch` when it is unset. */
  fetch?: FetchFunction;
  botId: string;
  botUserId: string;
  port: number;
  /** Address the HTTP receiver binds, or every interface when unset. */
  host?: string | undefined;
  /** Served next to `/slack/events` in HTTP mode; Socket Mode serves them elsewhere. */
  routes: OpsRoute[];
  gate: RequestGateOptions;
}

/** A Bolt app with the receiver for HTTP or Socket Mode. */
export interface SlackApp {
  app: App;
  receiver: HTTPReceiver | SocketModeReceiver;
  /** The Socket Mode connection; `undefined` in HTTP mode. */
  socket: SocketConnection | undefined;
  /** Starts receiving; returns the HTTP port bound in HTTP mode, `undefined` in Socket Mode. */
  start(): Promise<number | undefined>;
  /** Stops receiving: closes the HTTP listener or the Socket Mode connection. */
  stop(): Promise<void>;
}

// Few quick retries: a modal's trigger expires after 3 seconds, and the outbox retries messages
// on its own schedule. Rate-limited calls still wait for Retry-After (the client's default).
const HANDLER_RETRY_CONFIG = { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 1_000 };
// A handler's reply is useless long after Slack's 3-second budget, so a hung call is cut off.
const HANDLER_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Builds the Bolt app. `botId` and `botUserId` are passed in so Bolt does not call
 * `auth.test` on every request (Bolt 5 does when token verification is off and they are unset).
 */
export function createSlackApp(options: SlackAppOptions, deps: Omit<SlackDeps, 'client' | 'afterAck'>, logger: Logger): SlackApp {
  const boltLogger = toBoltLogger(logger);
  const clientOptions = {
    ...(options.apiUrl === undefined ? {} : { slackApiUrl: options.apiUrl }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    retryConfig: HANDLER_RETRY_CONFIG,
    timeout: HANDLER_REQUEST_TIMEOUT_MS,
  };
  const receiver: HTTPReceiver | SocketModeReceiver =
    options.appToken !== undefined
      ? new SocketModeReceiver({
          appToken: options.appToken,
          logger: boltLogger,
          // SocketConnection reconnects instead (see there); apps.connections.open is not retried
          // inside the client either, so a refusal reaches SocketConnection's backoff at once.
          autoReconnectEnabled: false,
          installerOptions: {
            clientOptions: {
              ...(options.apiUrl === undefined ? {} : { slackApiUrl: options.apiUrl }),
              ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
              retryConfig: { retries: 0 },
              timeout: HANDLER_REQUEST_TIMEOUT_MS,
            },
          },
        })
      : new HTTPReceiver({
          signingSecret: options.signingSecret ?? '',
          endpoints: '/slack/events',
          customRoutes: options.routes,
          logger: boltLogger,
        });
  const app = new App({
    token: options.botToken,
    botId: options.botId,
    botUserId: options.botUserId,
    tokenVerificationEnabled: false,
    receiver: receiver as Receiver,
    logger: boltLogger,
    clientOptions,
  });
  receiver.init(createRequestGate(app, options.gate));
  const limit = pLimit(AFTER_ACK_CONCURRENCY);
  const afterAck = (work: () => Promise<void>): void => {
    const queued = options.gate.inFlight.track(limit(work));
    deferRequestWork(queued);
    queued.catch((error: unknown) => {
      setRequestOutcome('error');
      logger.error({ err: error }, 'work after an ack failed without telling the user');
    });
  };
  const slackDeps: SlackDeps = { ...deps, client: app.client as WebClient, afterAck };
  registerPimCommand(app, slackDeps);
  registerActivationSubmission(app, slackDeps);
  registerHome(app, slackDeps);
  registerAdmin(app, slackDeps);
  registerApprovalActions(app, slackDeps);
  registerSettingsSubmission(app, slackDeps);
  registerUserGroupEvents(app, slackDeps);
  app.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  const socket =
    receiver instanceof SocketModeReceiver
      ? new SocketConnection(receiver.client, logger.child({ component: 'socket-mode' }), options.gate.metrics)
      : undefined;
  return {
    app,
    receiver,
    socket,
    start: async () => {
      if (receiver instanceof HTTPReceiver) {
        const server = await receiver.start({ port: options.port, ...(options.host === undefined ? {} : { host: options.host }) });
        const address = server.address();
        return typeof address === 'object' && address !== null ? address.port : options.port;
      }
      await socket?.start();
      return undefined;
    },
    stop: async () => {
      if (socket !== undefined) {
        await socket.stop();
        return;
      }
      await receiver.stop();
    },
  };
}
