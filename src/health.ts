import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type postgres from 'postgres';
import { migrationsApplied, type Database } from '../db/client.js';
import type { Clock } from './clock.js';
import { describeClockSkew, measureClockSkew } from './clock-skew.js';
import type { Metrics, MetricSources } from './metrics.js';
import { refreshStoredGauges } from './metrics.js';
import { readEvictionPolicy, REQUIRED_EVICTION_POLICY } from './redis.js';
import { readSecurityChannelStatus } from './services/security-channel.js';
import type { SocketModeStatus } from './slack/socket-connection.js';
import { withTimeout } from './timeout.js';

// A readiness probe must respond before the orchestrator's own timeout, even when a
// dependency hangs instead of refusing.
const READINESS_CHECK_TIMEOUT_MS = 2_000;

/** An HTTP route served next to Slack's endpoint (the shape Bolt's `customRoutes` take). */
export interface OpsRoute {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Sources of the health and metrics endpoints. */
export interface HealthSources {
  sql: postgres.Sql;
  db: Database;
  redis: Redis;
  metrics: Metrics;
  metricSources: MetricSources;
  /** The clock that services read, compared with PostgreSQL's. */
  clock: Clock;
  /** Socket Mode connection state; `undefined` in HTTP mode and in worker-only processes. */
  socketMode?: () => SocketModeStatus;
  /** True once shutdown began: the process finishes its work but should get no more. */
  isStopping: () => boolean;
}

/** Result of `/readyz`: `checks` decide readiness, `warnings` need an administrator but not a restart. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
  warnings: Record<string, string>;
  socketMode?: SocketModeStatus;
}

/**
 * `GET /healthz` (process up, with the Socket Mode connection's state), `GET /readyz`
 * (Postgres, Redis, migrations and the Socket Mode connection ready) and `GET /metrics`
 * (Prometheus text format).
 */
export function opsRoutes(sources: HealthSources): OpsRoute[] {
  return [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => {
        const body = sources.socketMode === undefined ? { status: 'ok' } : { status: 'ok', socketMode: sources.socketMode() };
        sendJson(res, 200, body);
      },
    },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        void checkReadiness(sources).then((readiness) => {
          sendJson(res, readiness.ready ? 200 : 503, {
            status: readiness.ready ? 'ready' : 'not_ready',
            checks: readiness.checks,
            warnings: readiness.warnings,
            ...(readiness.socketMode === undefined ? {} : { socketMode: readiness.socketMode }),
          });
        });
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        void servePrometheus(sources, res);
      },
    },
  ];
}

/** Checks each dependency and returns `ok` or a short reason for each. */
export async function checkReadiness(sources: HealthSources): Promise<Readiness> {
  const [postgresCheck, redisCheck, securityChannel, clockSkewMs] = await Promise.all([
    withTimeout(migrationsApplied(sources.sql), READINESS_CHECK_TIMEOUT_MS, 'Postgres check').then(
      (applied) => ({ postgres: 'ok', migrations: applied ? 'ok' : 'pending' }),
      (error: unknown) => ({ postgres: describe(error), migrations: 'unknown' }),
    ),
    withTimeout(readEvictionPolicy(sources.redis), READINESS_CHECK_TIMEOUT_MS, 'Redis check').then(
      (policy) =>
        policy === undefined || policy === REQUIRED_EVICTION_POLICY ? 'ok' : `maxmemory-policy is ${policy}, not ${REQUIRED_EVICTION_POLICY}`,
      (error: unknown) => describe(error),
    ),
    withTimeout(readSecurityChannelStatus(sources.db), READINESS_CHECK_TIMEOUT_MS, 'security channel status').catch(
      () => undefined,
    ),
    // PostgreSQL's own check reports an outage, so a failed reading adds nothing here.
    withTimeout(measureClockSkew(sources.sql, sources.clock), READINESS_CHECK_TIMEOUT_MS, 'clock check').catch(() => undefined),
  ]);
  const checks: Record<string, string> = { ...postgresCheck, redis: redisCheck };
  const socketMode = sources.socketMode?.();
  if (socketMode !== undefined) checks.socketMode = socketMode.connected ? 'ok' : 'disconnected';
  if (sources.isStopping()) checks.process = 'stopping';
  const warnings: Record<string, string> = {};
  if (securityChannel?.problem != null) warnings.securityChannel = securityChannel.problem.error;
  const clockWarning = clockSkewMs === undefined ? undefined : describeClockSkew(clockSkewMs);
  if (clockWarning !== undefined) warnings.clock = clockWarning;
  const ready = Object.values(checks).every((value) => value === 'ok');
  return { ready, checks, warnings, ...(socketMode === undefined ? {} : { socketMode }) };
}

async function servePrometheus(sources: HealthSources, res: ServerResponse): Promise<void> {
  try {
    await withTimeout(
      refreshStoredGauges(sources.metrics, sources.metricSources),
      READINESS_CHECK_TIMEOUT_MS,
      'metrics from Postgres',
    ).catch(() => undefined);
    const text = await sources.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': sources.metrics.registry.contentType });
    res.end(text);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`metrics failed: ${describe(error)}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function describe(error: unknown): string {
  if (error instanceof Error) return (error as { code?: string }).code ?? error.message;
  return 'failed';
}
