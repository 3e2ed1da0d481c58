/**
 * Starts the local sandbox: the stand-in for Slack and its page on `PORT`, then the real app
 * against the stand-in, in HTTP mode with a generated bot token and signing secret. This is the
 * sandbox's composition root; `startRuntime` builds the app as it does for a real workspace.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config, SandboxConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { startRuntime, type Runtime } from '../runtime.js';
import { SandboxInteractions } from './interactions.js';
import { LiveUpdates } from './live-updates.js';
import { handlePageRequest } from './page-routes.js';
import {
  SANDBOX_BOT_ID,
  SANDBOX_BOT_USER_ID,
  SANDBOX_PEOPLE,
  SANDBOX_TEAM_ID,
  SECURITY_CHANNEL_ID,
  seedStory,
  seedWorkspace,
} from './seed.js';
import { listenSandbox } from './server.js';
import { SlackStandIn } from './stand-in.js';
import { deleteRedisKeys, dropDatabase } from './storage-reset.js';

/** The sandbox page is for the person at this machine, so it listens on loopback only. */
export const SANDBOX_HOST = '127.0.0.1';
// Enough Web API calls for the page's list and for a debugging session, bounded for a long run.
const MAX_RECORDED_CALLS = 2_000;

/** A running sandbox. */
export interface Sandbox {
  /** Address of the page, such as `http://localhost:3000/`. */
  url: string;
  port: number;
  standIn: SlackStandIn;
  /** The running app; `undefined` while a reset restarts it. */
  runtime(): Runtime | undefined;
  /** Drops the sandbox's database and Redis keys, clears every message and view, and starts afresh. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the stand-in, the page and the app, and seeds the story. */
export async function startSandbox(config: SandboxConfig, clock: Clock, logger: Logger): Promise<Sandbox> {
  const server = await listenSandbox(config.port, SANDBOX_HOST, logger);
  const url = `http://localhost:${server.port}/`;
  logger.info({ url, database: new URL(config.databaseUrl).pathname.slice(1) }, 'sandbox: no SLACK_BOT_TOKEN, so slack-pim runs against a local stand-in for Slack; open the url');

  const standIn = new SlackStandIn({
    origin: `http://${SANDBOX_HOST}:${server.port}`,
    botUserId: SANDBOX_BOT_USER_ID,
    botId: SANDBOX_BOT_ID,
    teamId: SANDBOX_TEAM_ID,
    teamName: 'slack-pim sandbox',
    teamDomain: 'pim-sandbox',
    now: () => clock.now().getTime(),
    maxRecordedCalls: MAX_RECORDED_CALLS,
  });
  seedWorkspace(standIn.workspace);
  const signingSecret = randomBytes(32).toString('hex');
  const runtimeConfig: Config = {
    slack: { botToken: standIn.botToken, signingSecret, appToken: undefined, apiUrl: standIn.apiUrl },
    // The app listens on a free loopback port behind the sandbox server.
    port: 0,
    host: SANDBOX_HOST,
    sandbox: true,
    databaseUrl: config.databaseUrl,
    databasePreparedStatements: true,
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    securityChannelId: SECURITY_CHANNEL_ID,
    adminUserIds: [SANDBOX_PEOPLE.administrator.id],
    processRole: 'all',
    // One person clicking through a story on a laptop: nothing to protect approvers from.
    rateLimit: undefined,
    logLevel: config.logLevel,
  };

  let runtime: Runtime | undefined;
  const live = new LiveUpdates();
  standIn.workspace.onChange(() => live.changed());
  standIn.log.onCall(() => live.changed());
  const interactions = new SandboxInteractions(
    standIn,
    () => (runtime?.port === undefined ? undefined : { eventsUrl: `http://${SANDBOX_HOST}:${runtime.port}/slack/events`, signingSecret }),
    logger.child({ component: 'sandbox' }),
  );

  const startApp = async (): Promise<void> => {
    runtime = await startRuntime(runtimeConfig, clock, logger);
    await seedStory(runtime.context);
    // Only now does PORT reach the app, so /readyz answers 200 once the story is in place.
    server.setAppPort(runtime.port);
  };
  let resetting: Promise<void> | undefined;
  const reset = async (): Promise<void> => {
    // A second click while a reset runs waits for that reset instead of starting another.
    resetting ??= (async () => {
      logger.info('sandbox: resetting');
      server.setAppPort(undefined);
      await runtime?.stop();
      runtime = undefined;
      await dropDatabase(config.databaseUrl);
      await deleteRedisKeys(config.redisUrl, config.redisPrefix);
      standIn.reset();
      await startApp();
      live.changed();
      logger.info('sandbox: reset done');
    })().finally(() => {
      resetting = undefined;
    });
    return resetting;
  };

  server.route([
    (request, response) => standIn.handle(request, response),
    (request, response) => handlePageRequest({ standIn, interactions, live, reset }, request, response),
  ]);
  try {
    await startApp();
  } catch (error) {
    live.close();
    await server.close();
    throw error;
  }
  logger.info({ url }, 'sandbox: ready');

  return {
    url,
    port: server.port,
    standIn,
    runtime: () => runtime,
    reset,
    stop: async () => {
      live.close();
      server.setAppPort(undefined);
      await runtime?.stop();
      runtime = undefined;
      standIn.log.close();
      await server.close();
    },
  };
}
