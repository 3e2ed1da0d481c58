import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** Verdict on one request of one user. */
export type RateLimitVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Counts each user's commands, clicks and form submissions against a limit per window. */
export interface RequestRateLimiter {
  consume(userId: string): Promise<RateLimitVerdict>;
}

/** A limit of `requests` per `windowSeconds` for each user. */
export interface RateLimitSettings {
  requests: number;
  windowSeconds: number;
}

/**
 * Creates a limiter shared by every process through Redis (rate-limiter-flexible's atomic
 * counter). While Redis is unreachable each process counts in memory instead, so the limit
 * still applies per process and requests are not rejected for Redis's sake.
 */
export function createRequestRateLimiter(redis: Redis, keyPrefix: string, settings: RateLimitSettings): RequestRateLimiter {
  const options = { points: settings.requests, duration: settings.windowSeconds, keyPrefix };
  const limiter = new RateLimiterRedis({
    ...options,
    storeClient: redis,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory(options),
  });
  return {
    consume: async (userId) => {
      try {
        await limiter.consume(userId);
        return { allowed: true };
      } catch (rejection) {
        // rate-limiter-flexible rejects with a RateLimiterRes when the limit is reached, and
        // with an Error only when both Redis and the in-memory insurance fail.
        if (rejection instanceof RateLimiterRes) return { allowed: false, retryAfterMs: rejection.msBeforeNext };
        throw rejection;
      }
    },
  };
}
