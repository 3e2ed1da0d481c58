import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import { connectDatabase, ensureDatabaseExists, runMigrations, type DatabaseHandle } from '../db/client.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { healthRoutes } from './health.js';
import { createDeliver } from './jobs/deliveries.js';
import { OutboxDispatcher } from './jobs/outbox-dispatcher.js';
import { createQueues, scheduleSweep, type Queues } from './jobs/queues.js';
import { rebuildExpiryJobs, sweepDueAssignments, sweepDueRequests, sweepOverdueActivations } from './jobs/sweep.js';
import { startWorkers, type Workers } from './jobs/workers.js';
import type { Logger } from './logger.js';
import { bootstrapAdmins } from './services/assignments.js';
import type { ServiceContext } from './services/context.js';
import { seedRoleCatalog } from './services/roles.js';
import { createSlackApp, type SlackApp } from './slack/app.js';
import { createSlackDirectory } from './slack/directory.js';
import { createNoticeSender } from './slack/notice-sender.js';

/** A running slack-pim process: web, worker or both. */
export interface Runtime {
  /** HTTP port bound by the web role; `undefined` for a worker-only process. */
  port: number | undefined;
  context: ServiceContext;
  database: DatabaseHandle;
  queues: Queues;
  redis: Redis;
  /** Stops taking work, finishes what is in hand and closes every connection. */
  stop(): Promise<void>;
}

/** Thrown when start-up cannot continue; `message` says what to fix. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/**
 * Builds and starts everything from validated configuration: the composition root.
 * Order matters: the schema must exist before anything reads it, the bot identity before the
 * Bolt app, and the overdue sweep runs before the worker starts taking new jobs.
 */
export async function startRuntime(config: Config, clock: Clock, logger: Logger): Promise<Runtime> {
  await prepareDatabase(config.databaseUrl, logger);
  const database = connectDatabase(config.databaseUrl);
  const redis = new Redis(config.redisUrl, {
    // BullMQ workers block on Redis and require unlimited per-request retries.
    maxRetriesPerRequest: null,
    lazyConnect: false,
  });
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const queues = createQueues(redis, config.redisPrefix);
  const stoppers: (() => Promise<void>)[] = [
    () => database.close(),
    async () => {
      redis.disconnect();
    },
    () => queues.close(),
  ];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) {
      await stop().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping'));
    }
  };

  try {
    const slackClient = new WebClient(config.slack.botToken, {
      ...(config.slack.apiUrl === undefined ? {} : { slackApiUrl: config.slack.apiUrl }),
      retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 1_000 },
    });
    const context: ServiceContext = {
      db: database.db,
      clock,
      logger,
      securityChannelId: config.securityChannelId,
      adminsConfigured: config.adminUserIds.length > 0,
      directory: createSlackDirectory(slackClient),
    };
    if (config.securityChannelId === undefined) {
      logger.warn('PIM_SECURITY_CHANNEL is not set: activation and bootstrap posts to the security channel are skipped');
    }
    const identity = await resolveBotIdentity(slackClient);
    logger.info({ botUserId: identity.botUserId, teamId: identity.teamId }, 'connected to Slack');

    const seeded = await seedRoleCatalog(database.db, clock.now());
    if (seeded.seeded) logger.info('seeded the built-in role catalog');
    const bootstrapped = await bootstrapAdmins(context, config.adminUserIds);
    if (bootstrapped.length > 0) logger.info({ userIds: bootstrapped }, 'bootstrapped administrators from PIM_ADMINS');

    if (config.processRole !== 'web') {
      stoppers.push(...(await startWorkerRole(context, database, redis, queues, config, slackClient, logger)));
    }
    let port: number | undefined;
    if (config.processRole !== 'worker') {
      const slackApp = createSlackApp(
        {
          botToken: config.slack.botToken,
          signingSecret: config.slack.signingSecret,
          appToken: config.slack.appToken,
          apiUrl: config.slack.apiUrl,
          botId: identity.botId,
          botUserId: identity.botUserId,
          port: config.port,
          routes: healthRoutes(database.sql, redis),
        },
        { context, logger },
        logger,
      );
      port = await slackApp.start();
      stoppers.push(() => stopSlackApp(slackApp));
      logger.info(
        { port, mode: config.slack.appToken === undefined ? 'http' : 'socket' },
        'slack-pim is listening for Slack requests',
      );
    }

    return { port, context, database, queues, redis, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function prepareDatabase(url: string, logger: Logger): Promise<void> {
  try {
    const { created } = await ensureDatabaseExists(url);
    if (created) logger.info({ database: new URL(url).pathname.slice(1) }, 'created the database');
    await runMigrations(url);
  } catch (error) {
    throw new StartupError(
      `DATABASE_URL: cannot prepare the database (${error instanceof Error ? error.message : String(error)}); check that Postgres runs and the URL is right`,
      { cause: error },
    );
  }
}

async function resolveBotIdentity(client: WebClient): Promise<{ botId: string; botUserId: string; teamId: string }> {
  try {
    const auth = await client.auth.test();
    if (auth.bot_id === undefined || auth.user_id === undefined) {
      throw new StartupError('SLACK_BOT_TOKEN: auth.test returned no bot identity; use the bot token (xoxb-…)');
    }
    return { botId: auth.bot_id, botUserId: auth.user_id, teamId: auth.team_id ?? '' };
  } catch (error) {
    if (error instanceof StartupError) throw error;
    throw new StartupError(
      `SLACK_BOT_TOKEN: auth.test failed (${error instanceof Error ? error.message : String(error)}); check the token and that Slack (or SLACK_API_URL) is reachable`,
      { cause: error },
    );
  }
}

async function startWorkerRole(
  context: ServiceContext,
  database: DatabaseHandle,
  redis: Redis,
  queues: Queues,
  config: Config,
  slackClient: WebClient,
  logger: Logger,
): Promise<(() => Promise<void>)[]> {
  const sweepLogger = logger.child({ component: 'sweep' });
  const ended = await sweepOverdueActivations(context, sweepLogger);
  const requestTimers = await sweepDueRequests(context, sweepLogger);
  const assignmentTimers = await sweepDueAssignments(context, sweepLogger);
  if (ended + requestTimers + assignmentTimers > 0) {
    logger.info({ ended, requestTimers, assignmentTimers }, 'start-up sweep caught up');
  }
  const rebuilt = await rebuildExpiryJobs(context, queues);
  logger.info({ timedRows: rebuilt }, 'expiry, request and assignment jobs checked against Postgres');
  await scheduleSweep(queues);

  const workers: Workers = startWorkers(redis, config.redisPrefix, context, logger.child({ component: 'worker' }));
  const dispatcher = new OutboxDispatcher({
    db: database.db,
    sql: database.sql,
    deliver: createDeliver({
      sendNotice: createNoticeSender(slackClient),
      client: slackClient,
      db: database.db,
      queues,
      clock: context.clock,
      logger: logger.child({ component: 'delivery' }),
    }),
    logger: logger.child({ component: 'outbox' }),
  });
  await dispatcher.start();
  return [() => workers.close(), () => dispatcher.stop()];
}

async function stopSlackApp(slackApp: SlackApp): Promise<void> {
  await slackApp.stop();
}
