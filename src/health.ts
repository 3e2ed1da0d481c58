import type { CustomRoute } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type postgres from 'postgres';
import { migrationsApplied } from '../db/client.js';

// A readiness probe must answer before the orchestrator's own timeout, even when a
// dependency hangs instead of refusing.
const READINESS_CHECK_TIMEOUT_MS = 2_000;

/** `GET /healthz` (process up) and `GET /readyz` (Postgres, Redis and migrations ready). */
export function healthRoutes(sql: postgres.Sql, redis: Redis): CustomRoute[] {
  return [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok' }));
      },
    },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        void checkReadiness(sql, redis).then((checks) => {
          const ready = checks.postgres === 'ok' && checks.redis === 'ok' && checks.migrations === 'ok';
          res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: ready ? 'ready' : 'not_ready', checks }));
        });
      },
    },
  ];
}

/** Checks each dependency and returns `ok` or a short reason for each. */
export async function checkReadiness(
  sql: postgres.Sql,
  redis: Redis,
): Promise<{ postgres: string; redis: string; migrations: string }> {
  const [postgresCheck, redisCheck] = await Promise.all([
    withTimeout(migrationsApplied(sql)).then(
      (applied) => ({ postgres: 'ok', migrations: applied ? 'ok' : 'pending' }),
      (error: unknown) => ({ postgres: describe(error), migrations: 'unknown' }),
    ),
    withTimeout(redis.ping()).then(
      (reply) => (reply === 'PONG' ? 'ok' : `unexpected reply ${reply}`),
      (error: unknown) => describe(error),
    ),
  ]);
  return { postgres: postgresCheck.postgres, redis: redisCheck, migrations: postgresCheck.migrations };
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), READINESS_CHECK_TIMEOUT_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) return (error as { code?: string }).code ?? error.message;
  return 'failed';
}
