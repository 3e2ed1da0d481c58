import { WebClient, type FetchFunction } from '@slack/web-api';
import { connectDatabase, ensureDatabaseExists, runMigrations, type DatabaseHandle } from '../db/client.js';
import type { Clock } from './clock.js';
import { warnOfClockSkew } from './clock-skew.js';
import type { Config } from './config.js';
import { opsRoutes, type HealthSources } from './health.js';
import { InFlight } from './in-flight.js';
import { createDeliver } from './jobs/deliveries.js';
import { HomeRefresher } from './jobs/home-refresher.js';
import { OutboxDispatcher } from './jobs/outbox-dispatcher.js';
import { createQueues, type Queues } from './jobs/queues.js';
import { Timekeeper } from './jobs/timekeeper.js';
import { startWorkers } from './jobs/workers.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics, type MetricSources } from './metrics.js';
import { startOpsServer } from './ops-server.js';
import {
  connectRedis,
  describeEvictionPolicyProblem,
  readEvictionPolicy,
  REQUIRED_EVICTION_POLICY,
  type RedisConnections,
} from './redis.js';
import { bootstrapAdmins } from './services/assignments.js';
import type { ServiceContext } from './services/context.js';
import { countOutbox } from './services/outbox.js';
import { seedRoleCatalog } from './services/roles.js';
import { countActivationsByState } from './services/stats.js';
import { createSlackApp, type SlackApp } from './slack/app.js';
import { toBoltLogger } from './slack/bolt-logger.js';
import { createSlackDirectory } from './slack/directory.js';
import { UserGroupCache } from './slack/user-group-cache.js';
import { createWebApiTransport } from './slack/web-api-transport.js';
import { createNoticeSender } from './slack/notice-sender.js';
import { createRequestRateLimiter } from './slack/rate-limit.js';
import { checkSecurityChannel } from './slack/security-channel-check.js';
import type { SocketConnection } from './slack/socket-connection.js';
import { Stopper } from './stopper.js';

/** Default bound on `Runtime.stop`: long enough for a handler or job, short of an orchestrator's kill. */
export const DEFAULT_STOP_TIMEOUT_MS = 20_000;
// Each outbox attempt is one call; the outbox retries on its own schedule, honouring Retry-After.
const OUTBOX_SLACK_TIMEOUT_MS = 10_000;
// A user group read holds up the click or form that needs it, like a Bolt handler's own calls.
const DIRECTORY_SLACK_TIMEOUT_MS = 10_000;

/** A running slack-pim process: web, worker or both. */
export interface Runtime {
  /** HTTP port serving `/slack/events` (HTTP mode) or only the health and metrics routes. */
  port: number | undefined;
  context: ServiceContext;
  database: DatabaseHandle;
  queues: Queues;
  redis: RedisConnections;
  metrics: Metrics;
  /** The Socket Mode connection; `undefined` in HTTP mode and in worker-only processes. */
  socket: SocketConnection | undefined;
  /**
   * Stops taking requests, waits (up to `timeoutMs` in all) for handlers, jobs and outbox
   * rows in hand, then closes workers, queues, Redis and Postgres. Calling it again returns
   * the same promise.
   */
  stop(timeoutMs?: number): Promise<void>;
}

/** Thrown when start-up cannot continue. Its `message` names the variable and the fix. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/**
 * Builds and starts everything from validated configuration: the composition root.
 * Order matters: the schema must exist before anything reads it, Redis must evict nothing
 * before BullMQ trusts it, the bot identity comes before the Bolt app, and the overdue sweep
 * runs before the worker starts taking new jobs.
 */
export async function startRuntime(config: Config, clock: Clock, logger: Logger): Promise<Runtime> {
  await prepareDatabase(config.databaseUrl, logger);
  const database = connectDatabase(config.databaseUrl, { preparedStatements: config.databasePreparedStatements });
  const stopper = new Stopper(logger);
  stopper.add('postgres', () => database.close());
  const redis = await openRedis(config, logger).catch(async (error: unknown) => {
    await database.close();
    throw error;
  });
  stopper.add('redis', () => redis.close());
  const queues = createQueues(redis.commands, config.redisPrefix);
  stopper.add('queues', () => queues.close());

  // Closed after the work phase, so the Slack calls of handlers and outbox rows in hand finish first.
  const transport = createWebApiTransport();
  stopper.add('slack transport', () => transport.close(), { phase: 'last' });

  try {
    const metrics = createMetrics();
    const slackClient = new WebClient(config.slack.botToken, {
      ...(config.slack.apiUrl === undefined ? {} : { slackApiUrl: config.slack.apiUrl }),
      fetch: transport.fetch,
      logger: toBoltLogger(logger.child({ component: 'slack-web-api' })),
      retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 1_000 },
      timeout: OUTBOX_SLACK_TIMEOUT_MS,
    });
    const userGroupCache = new UserGroupCache({
      redis: redis.commands,
      redisPrefix: config.redisPrefix,
      slack: createSlackDirectory(createDirectoryClient(config, transport.fetch, logger)),
      logger: logger.child({ component: 'user-group-cache' }),
    });
    const context: ServiceContext = {
      db: database.db,
      clock,
      logger,
      securityChannelId: config.securityChannelId,
      adminsConfigured: config.adminUserIds.length > 0,
      directory: userGroupCache,
    };
    const identity = await resolveBotIdentity(slackClient);
    logger.info(
      { botUserId: identity.botUserId, teamId: identity.teamId },
      config.sandbox === true ? "connected to the sandbox's stand-in for Slack" : 'connected to Slack',
    );
    await prepareInstallation(context, config, slackClient, logger);
    await warnOfClockSkew(database.sql, clock, logger);

    const sources: HealthSources = {
      sql: database.sql,
      db: database.db,
      redis: redis.commands,
      metrics,
      metricSources: metricSources(database),
      clock,
      isStopping: () => stopper.stopping,
    };
    if (config.processRole !== 'web') {
      await startWorkerRole({ context, database, redis, queues, config, metrics, logger, stopper, fetch: transport.fetch });
    }
    let port: number | undefined;
    let socket: SocketConnection | undefined;
    if (config.processRole !== 'worker') {
      const web = await startWebRole({
        config,
        identity,
        context,
        userGroupCache,
        redis,
        metrics,
        sources,
        logger,
        stopper,
        fetch: transport.fetch,
      });
      port = web.port;
      socket = web.socket;
    } else {
      const opsServer = await startOpsServer(config.port, opsRoutes(sources), config.host);
      stopper.add('health server', () => opsServer.close(), { phase: 'last' });
      port = opsServer.port;
    }
    return { port, context, database, queues, redis, metrics, socket, stop: (timeoutMs) => stopper.stop(timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS) };
  } catch (error) {
    await stopper.stop(DEFAULT_STOP_TIMEOUT_MS);
    throw error;
  }
}

interface RoleParts {
  context: ServiceContext;
  config: Config;
  metrics: Metrics;
  logger: Logger;
  stopper: Stopper;
  /** Transport of every Slack call the process makes. */
  fetch: FetchFunction;
}

async function startWorkerRole(
  parts: RoleParts & { database: DatabaseHandle; redis: RedisConnections; queues: Queues },
): Promise<void> {
  const { context, redis, queues, config, metrics, logger, stopper } = parts;
  const timekeeper = new Timekeeper({
    context,
    queues,
    redis: redis.commands,
    redisPrefix: config.redisPrefix,
    logger: logger.child({ component: 'timekeeper' }),
    metrics,
  });
  await timekeeper.start();
  stopper.add('timekeeper', () => timekeeper.stop(), { phase: 'work' });
  const { dispatcher, refresher } = await startOutboxDelivery(parts);

  const workers = startWorkers(
    redis.blocking,
    config.redisPrefix,
    context,
    logger.child({ component: 'worker' }),
    metrics,
  );
  stopper.add('workers', () => workers.close(), { phase: 'work', onTimeout: () => workers.close(true) });
  stopper.add(
    'outbox',
    async () => {
      await Promise.all([dispatcher.stop(), refresher.stop()]);
    },
    { phase: 'work' },
  );
  // A runtime stopped right after it started would otherwise close Redis under workers that
  // are still connecting, which BullMQ reports as unhandled rejections.
  await workers.ready();
}

/** Starts the outbox's two consumers: the dispatcher (messages and jobs) and the Home refresher. */
async function startOutboxDelivery(
  parts: RoleParts & { database: DatabaseHandle; queues: Queues },
): Promise<{ dispatcher: OutboxDispatcher; refresher: HomeRefresher }> {
  const { context, database, queues, config, metrics, logger, fetch } = parts;
  // The outbox's client never retries by itself. Every attempt goes through the outbox, which
  // records it before sending and waits for the time in a 429's Retry-After.
  const outboxClient = new WebClient(config.slack.botToken, {
    ...(config.slack.apiUrl === undefined ? {} : { slackApiUrl: config.slack.apiUrl }),
    fetch,
    logger: toBoltLogger(logger.child({ component: 'slack-web-api' })),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: OUTBOX_SLACK_TIMEOUT_MS,
  });
  const outboxLogger = logger.child({ component: 'outbox' });
  const dispatcher = new OutboxDispatcher({
    db: database.db,
    sql: database.sql,
    deliver: createDeliver({
      sendNotice: createNoticeSender(outboxClient),
      client: outboxClient,
      db: database.db,
      directory: context.directory,
      queues,
      clock: context.clock,
      logger: outboxLogger,
      securityChannelId: context.securityChannelId,
    }),
    logger: outboxLogger,
    metrics,
  });
  const refresher = new HomeRefresher({
    db: database.db,
    sql: database.sql,
    client: outboxClient,
    directory: context.directory,
    clock: context.clock,
    logger: logger.child({ component: 'home-refresher' }),
    metrics,
  });
  await dispatcher.start();
  try {
    await refresher.start();
  } catch (error) {
    await dispatcher.stop();
    throw error;
  }
  return { dispatcher, refresher };
}

async function startWebRole(
  parts: RoleParts & {
    identity: BotIdentity;
    userGroupCache: UserGroupCache;
    redis: RedisConnections;
    sources: HealthSources;
  },
): Promise<{ port: number | undefined; socket: SocketConnection | undefined }> {
  const { config, identity, context, userGroupCache, redis, metrics, sources, logger, stopper, fetch } = parts;
  const inFlight = new InFlight();
  const rateLimiter =
    config.rateLimit === undefined
      ? undefined
      : createRequestRateLimiter(redis.commands, `${config.redisPrefix}:ratelimit`, config.rateLimit);

  const app: SlackApp = createSlackApp(
    {
      botToken: config.slack.botToken,
      signingSecret: config.slack.signingSecret,
      appToken: config.slack.appToken,
      apiUrl: config.slack.apiUrl,
      fetch,
      botId: identity.botId,
      botUserId: identity.botUserId,
      port: config.port,
      host: config.host,
      routes: opsRoutes(sources),
      gate: { logger, metrics, inFlight, rateLimiter },
    },
    { context, userGroupCache, logger },
    logger,
  );

  let port: number | undefined;
  const socket = app.socket;
  if (socket !== undefined) {
    // Socket Mode has no HTTP endpoint for Slack, so the health routes get a server of their own.
    const opsServer = await startOpsServer(
      config.port,
      opsRoutes({ ...sources, socketMode: () => socket.status() }),
      config.host,
    );
    stopper.add('health server', () => opsServer.close(), { phase: 'last' });
    port = opsServer.port;
  }
  const listening = await app.start();
  port ??= listening;

  // First stop receiving, then let the handlers already running finish. The stopper bounds the
  // wait and logs the handlers it gives up on.
  stopper.add('slack receiver', () => app.stop(), { phase: 'intake' });
  stopper.add('slack handlers', () => inFlight.drain(Number.POSITIVE_INFINITY).then(() => undefined), {
    phase: 'intake',
  });
  logger.info({ port, mode: config.slack.appToken === undefined ? 'http' : 'socket' }, 'slack-pim is listening for Slack requests');
  return { port, socket };
}

/**
 * Builds the client that reads user groups. It rejects a 429 at once (`rejectRateLimitedCalls`)
 * instead of pausing its queue for the Retry-After and retrying. The person who clicked then gets
 * the time to wait at once, and the click does not hold one of the few slots for work after an
 * ack (`AFTER_ACK_CONCURRENCY` in src/slack/app.ts) that long. Network errors and 5xx responses
 * get two quick retries.
 */
function createDirectoryClient(config: Config, fetch: FetchFunction, logger: Logger): WebClient {
  return new WebClient(config.slack.botToken, {
    ...(config.slack.apiUrl === undefined ? {} : { slackApiUrl: config.slack.apiUrl }),
    fetch,
    logger: toBoltLogger(logger.child({ component: 'slack-web-api' })),
    retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 1_000 },
    rejectRateLimitedCalls: true,
    timeout: DIRECTORY_SLACK_TIMEOUT_MS,
  });
}

async function openRedis(config: Config, logger: Logger): Promise<RedisConnections> {
  let redis: RedisConnections;
  try {
    redis = await connectRedis(config.redisUrl, logger);
  } catch (error) {
    throw new StartupError(
      `REDIS_URL: cannot connect to Redis (${error instanceof Error ? error.message : String(error)}); check that Redis runs and the URL is right`,
      { cause: error },
    );
  }
  const policy = await readEvictionPolicy(redis.commands).catch(() => undefined);
  if (policy === undefined) {
    logger.warn(
      { required: REQUIRED_EVICTION_POLICY },
      'could not read Redis maxmemory-policy; make sure it is noeviction, or BullMQ may lose jobs',
    );
  } else if (policy !== REQUIRED_EVICTION_POLICY) {
    await redis.close();
    throw new StartupError(describeEvictionPolicyProblem(policy));
  }
  return redis;
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

// Seeds the catalog, bootstraps PIM_ADMINS and checks the security channel once per start.
async function prepareInstallation(context: ServiceContext, config: Config, client: WebClient, logger: Logger): Promise<void> {
  const seeded = await seedRoleCatalog(context.db, context.clock.now());
  if (seeded.seeded) logger.info('seeded the built-in role catalog');
  const bootstrapped = await bootstrapAdmins(context, config.adminUserIds);
  if (bootstrapped.length > 0) {
    const message = config.sandbox === true ? 'the sandbox seeded its administrator' : 'bootstrapped administrators from PIM_ADMINS';
    logger.info({ userIds: bootstrapped }, message);
  }
  if (config.securityChannelId === undefined) {
    logger.warn('PIM_SECURITY_CHANNEL is not set: activation and bootstrap posts to the security channel are skipped');
    return;
  }
  await checkSecurityChannel(client, context, config.securityChannelId, logger);
}

interface BotIdentity {
  botId: string;
  botUserId: string;
  teamId: string;
}

async function resolveBotIdentity(client: WebClient): Promise<BotIdentity> {
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

function metricSources(database: DatabaseHandle): MetricSources {
  return {
    countActivationsByState: () => countActivationsByState(database.db),
    countOutbox: () => countOutbox(database.db),
  };
}
