import { App, HTTPReceiver, SocketModeReceiver, type CustomRoute, type Receiver } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';
import { registerActivationSubmission } from './activation-submission.js';
import { toBoltLogger } from './bolt-logger.js';
import { registerPimCommand } from './commands/index.js';
import type { SlackDeps } from './deps.js';
import { registerHome } from './home/register.js';
import { registerAdmin } from './admin/register.js';
import { registerApprovalActions } from './approval-actions.js';
import { registerSettingsSubmission } from './settings-submission.js';

/** Slack credentials and the bot identity resolved once at start-up. */
export interface SlackAppOptions {
  botToken: string;
  signingSecret: string | undefined;
  appToken: string | undefined;
  apiUrl: string | undefined;
  botId: string;
  botUserId: string;
  port: number;
  routes: CustomRoute[];
}

/** A Bolt app with the receiver for HTTP or Socket Mode. */
export interface SlackApp {
  app: App;
  receiver: HTTPReceiver | SocketModeReceiver;
  /** The HTTP port actually bound (differs from the option when it is 0). */
  start(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Builds the Bolt app. `botId` and `botUserId` are passed in so Bolt does not call
 * `auth.test` on every request (Bolt 5 does when token verification is off and they are unset).
 */
export function createSlackApp(options: SlackAppOptions, deps: Omit<SlackDeps, 'client'>, logger: Logger): SlackApp {
  const boltLogger = toBoltLogger(logger);
  const receiver: HTTPReceiver | SocketModeReceiver =
    options.appToken !== undefined
      ? new SocketModeReceiver({
          appToken: options.appToken,
          logger: boltLogger,
          customRoutes: options.routes,
          installerOptions: { port: options.port },
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
    clientOptions: {
      ...(options.apiUrl === undefined ? {} : { slackApiUrl: options.apiUrl }),
      // Few quick retries: a modal's trigger expires after 3 seconds, and the outbox retries
      // messages on its own schedule. Rate-limited calls still wait for Retry-After.
      retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 1_000 },
    },
  });
  const slackDeps: SlackDeps = { ...deps, client: app.client as WebClient };
  registerPimCommand(app, slackDeps);
  registerActivationSubmission(app, slackDeps);
  registerHome(app, slackDeps);
  registerAdmin(app, slackDeps);
  registerApprovalActions(app, slackDeps);
  registerSettingsSubmission(app, slackDeps);
  app.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  return {
    app,
    receiver,
    start: async () => {
      if (receiver instanceof HTTPReceiver) {
        const server = await receiver.start(options.port);
        const address = server.address();
        return typeof address === 'object' && address !== null ? address.port : options.port;
      }
      await receiver.start();
      return options.port;
    },
    stop: () => receiver.stop(),
  };
}
