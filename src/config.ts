import { z } from 'zod';

/** Default Postgres database; created on first start when it does not exist. */
export const DEFAULT_DATABASE_URL = 'postgres://localhost:5432/pim';

/**
 * Commands, clicks and form submissions each user may send per window, across all processes.
 * A person rarely sends more than a few a minute; the limit stops scripts and stuck clients
 * from flooding approvers and the security channel.
 */
export const DEFAULT_RATE_LIMIT = { requests: 30, windowSeconds: 60 } as const;

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;
const SLACK_CHANNEL_ID = /^[CG][A-Z0-9]{2,}$/;

const emptyAsUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const optionalText = z.preprocess(emptyAsUndefined, z.string().trim().optional());

const envSchema = z
  .object({
    // Unset selects the local sandbox, a stand-in for Slack that needs no workspace.
    SLACK_BOT_TOKEN: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .trim()
        .startsWith('xoxb-', 'must be a bot token starting with xoxb-, from OAuth & Permissions')
        .optional(),
    ),
    SLACK_SIGNING_SECRET: optionalText,
    SLACK_APP_TOKEN: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .trim()
        .startsWith('xapp-', 'must be an app-level token starting with xapp-, from Basic Information')
        .optional(),
    ),
    SLACK_API_URL: z.preprocess(
      emptyAsUndefined,
      z.url({ error: 'must be a URL such as http://127.0.0.1:4000/api/' }).optional(),
    ),
    PORT: z.preprocess(
      emptyAsUndefined,
      z.coerce
        .number({ error: 'must be a port number between 0 and 65535' })
        .int('must be a whole port number')
        .min(0, 'must be between 0 and 65535')
        .max(65535, 'must be between 0 and 65535')
        .default(3000),
    ),
    DATABASE_URL: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL such as postgres://localhost:5432/pim')
        .default(DEFAULT_DATABASE_URL),
    ),
    DATABASE_PREPARED_STATEMENTS: z.preprocess(
      emptyAsUndefined,
      z.enum(['on', 'off'], { error: 'must be on or off (off only behind a pooler that cannot keep prepared statements)' }).default('on'),
    ),
    REDIS_URL: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// URL such as redis://127.0.0.1:6379')
        .default('redis://127.0.0.1:6379'),
    ),
    PIM_REDIS_PREFIX: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(/^[a-zA-Z0-9_-]{1,40}$/, 'must be 1 to 40 letters, digits, dashes or underscores')
        .default('pim'),
    ),
    PIM_SECURITY_CHANNEL: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .trim()
        .regex(SLACK_CHANNEL_ID, 'must be a channel ID such as C0123ABCD (channel details → About), not a name')
        .optional(),
    ),
    PIM_ADMINS: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .transform((value) =>
          value
            .split(',')
            .map((id) => id.trim())
            .filter((id) => id !== ''),
        )
        .pipe(
          z.array(
            z.string().regex(SLACK_USER_ID, 'must list Slack user IDs such as U0123ABCD, separated by commas'),
          ),
        )
        .default([]),
    ),
    PIM_PROCESS: z.preprocess(
      emptyAsUndefined,
      z.enum(['all', 'web', 'worker'], { error: 'must be web, worker or unset (both)' }).default('all'),
    ),
    PIM_RATE_LIMIT_REQUESTS: z.preprocess(
      emptyAsUndefined,
      z.coerce
        .number({ error: 'must be a whole number of requests, or 0 to turn the limit off' })
        .int('must be a whole number of requests, or 0 to turn the limit off')
        .min(0, 'must be 0 (no limit) or more')
        .default(DEFAULT_RATE_LIMIT.requests),
    ),
    PIM_RATE_LIMIT_WINDOW_SECONDS: z.preprocess(
      emptyAsUndefined,
      z.coerce
        .number({ error: 'must be a whole number of seconds between 1 and 86400' })
        .int('must be a whole number of seconds between 1 and 86400')
        .min(1, 'must be between 1 and 86400 seconds')
        .max(86_400, 'must be between 1 and 86400 seconds')
        .default(DEFAULT_RATE_LIMIT.windowSeconds),
    ),
    LOG_LEVEL: z.preprocess(
      emptyAsUndefined,
      z
        .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
          error: 'must be one of fatal, error, warn, info, debug, trace, silent',
        })
        .default('info'),
    ),
  });

/** Validated configuration of one process. */
export interface Config {
  slack: {
    botToken: string;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string | undefined;
  };
  port: number;
  /**
   * Address the HTTP server binds. Unset binds every interface, as a deployed app needs. Only the
   * sandbox sets it (to loopback), so it has no environment variable.
   */
  host?: string;
  /**
   * Whether the app runs in the local sandbox. Start-up logs then name the sandbox's stand-in for
   * Slack and its seeded administrator instead of Slack and `PIM_ADMINS`. Unset for a real Slack app.
   */
  sandbox?: boolean;
  databaseUrl: string;
  /** Named prepared statements on the app's Postgres connections (`DATABASE_PREPARED_STATEMENTS`). */
  databasePreparedStatements: boolean;
  redisUrl: string;
  redisPrefix: string;
  securityChannelId: string | undefined;
  adminUserIds: string[];
  processRole: 'all' | 'web' | 'worker';
  /** Per-user request limit; `undefined` when PIM_RATE_LIMIT_REQUESTS is 0. */
  rateLimit: { requests: number; windowSeconds: number } | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/**
 * Configuration of the local sandbox, the mode without `SLACK_BOT_TOKEN`. It keeps to storage of
 * its own, named after the configured one, so it never mixes with real data.
 */
export interface SandboxConfig {
  /** Port of the sandbox page, which also serves the stand-in's Web API and the app's routes. */
  port: number;
  /** The configured database's name with {@link SANDBOX_SUFFIX}: `pim_sandbox` by default. */
  databaseUrl: string;
  redisUrl: string;
  /** The configured prefix with `-sandbox`: `pim-sandbox` by default. */
  redisPrefix: string;
  logLevel: Config['logLevel'];
}

/** Appended to the database name in sandbox mode. */
export const SANDBOX_SUFFIX = '_sandbox';

export type ConfigResult =
  | { ok: true; mode: 'slack'; config: Config }
  | { ok: true; mode: 'sandbox'; config: SandboxConfig }
  | { ok: false; problems: string[] };

// Settings of a real Slack app that the sandbox cannot use: set without a bot token they are
// most likely a half-filled configuration, which should not silently start the sandbox.
const SLACK_ONLY_VARIABLES = ['SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'SLACK_API_URL'] as const;

/** Parses the environment once; every problem comes back as one line naming its variable. */
export function loadConfig(env: Record<string, string | undefined>): ConfigResult {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')}: ${describeIssue(issue, env)}`);
  // Checked outside the schema so they are reported together with every other problem.
  const sandbox = isBlank(env.SLACK_BOT_TOKEN);
  if (sandbox) {
    problems.push(...sandboxProblems(env));
  } else if (isBlank(env.SLACK_APP_TOKEN) && isBlank(env.SLACK_SIGNING_SECRET)) {
    problems.push(
      'SLACK_SIGNING_SECRET: missing: HTTP mode needs the signing secret from Basic Information → App Credentials (or set SLACK_APP_TOKEN for Socket Mode)',
    );
  }
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  const value = parsed.data;
  if (sandbox || value.SLACK_BOT_TOKEN === undefined) {
    return {
      ok: true,
      mode: 'sandbox',
      config: {
        port: value.PORT,
        databaseUrl: sandboxDatabaseUrl(value.DATABASE_URL),
        redisUrl: value.REDIS_URL,
        redisPrefix: `${value.PIM_REDIS_PREFIX}-sandbox`,
        logLevel: value.LOG_LEVEL,
      },
    };
  }
  return {
    ok: true,
    mode: 'slack',
    config: {
      slack: {
        botToken: value.SLACK_BOT_TOKEN,
        signingSecret: value.SLACK_SIGNING_SECRET,
        appToken: value.SLACK_APP_TOKEN,
        apiUrl: value.SLACK_API_URL,
      },
      port: value.PORT,
      databaseUrl: value.DATABASE_URL,
      databasePreparedStatements: value.DATABASE_PREPARED_STATEMENTS === 'on',
      redisUrl: value.REDIS_URL,
      redisPrefix: value.PIM_REDIS_PREFIX,
      securityChannelId: value.PIM_SECURITY_CHANNEL,
      adminUserIds: value.PIM_ADMINS,
      processRole: value.PIM_PROCESS,
      rateLimit:
        value.PIM_RATE_LIMIT_REQUESTS === 0
          ? undefined
          : { requests: value.PIM_RATE_LIMIT_REQUESTS, windowSeconds: value.PIM_RATE_LIMIT_WINDOW_SECONDS },
      logLevel: value.LOG_LEVEL,
    },
  };
}

/** Returns the URL of the sandbox's database: the configured one's name with {@link SANDBOX_SUFFIX}. */
export function sandboxDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'pim';
  url.pathname = `/${encodeURIComponent(`${name}${SANDBOX_SUFFIX}`)}`;
  return url.toString();
}

function sandboxProblems(env: Record<string, string | undefined>): string[] {
  const problems = SLACK_ONLY_VARIABLES.filter((name) => !isBlank(env[name])).map(
    (name) =>
      `${name}: set without SLACK_BOT_TOKEN; set the bot token too to connect to Slack, or unset ${name} to run the local sandbox`,
  );
  if (!isBlank(env.PIM_PROCESS)) {
    problems.push('PIM_PROCESS: the sandbox runs web and worker in one process; unset it, or set SLACK_BOT_TOKEN');
  }
  return problems;
}

function isBlank(value: string | undefined): boolean {
  return value === undefined || value.trim() === '';
}

// Names the offending list entry, since the variable's path alone does not show which one.
function describeIssue(issue: z.core.$ZodIssue, env: Record<string, string | undefined>): string {
  const [variable, index] = issue.path;
  if (variable === 'PIM_ADMINS' && typeof index === 'number') {
    const entry = (env.PIM_ADMINS ?? '').split(',').map((id) => id.trim()).filter((id) => id !== '')[index];
    return `${issue.message} ("${entry ?? ''}" is not one)`;
  }
  return issue.message;
}
