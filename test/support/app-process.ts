/**
 * Runs slack-pim as a real process (`node --import tsx src/main.ts`), so tests can kill it, signal it and
 * restart it the way an orchestrator would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One running process and everything it wrote to stdout and stderr. */
export interface AppProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  /** Resolves when a line of output matches `pattern`, or fails after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `src/main.ts` with exactly `env` (plus PATH and HOME). */
export function startAppProcess(env: Record<string, string>): AppProcess {
  let output = '';
  const listeners = new Set<() => void>();
  // Node with tsx as a loader is one process. The tsx command would start a second one and
  // relay signals to it, so SIGKILL would leave the app running and exit codes would be tsx's.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of [...listeners]) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = once(child, 'exit').then(([code, signal]) => (code as number | null) ?? (signal as string));

  return {
    child,
    output: () => output,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitForOutput: (pattern, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(output)) return;
          finish();
          resolve();
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms; output:\n${output}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
  };
}

/** Settings of a process under test; the fake Slack and the test's database and Redis prefix. */
export interface AppEnvOptions {
  apiUrl: string;
  botToken: string;
  signingSecret: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  port: number;
  role: 'all' | 'web' | 'worker';
  securityChannelId?: string;
  logLevel?: string;
}

/** Builds the environment of a process from test settings. */
export function appEnv(options: AppEnvOptions): Record<string, string> {
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: options.botToken,
    SLACK_SIGNING_SECRET: options.signingSecret,
    SLACK_API_URL: options.apiUrl,
    PORT: String(options.port),
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    PIM_REDIS_PREFIX: options.redisPrefix,
    PIM_PROCESS: options.role,
    PIM_RATE_LIMIT_REQUESTS: '0',
    LOG_LEVEL: options.logLevel ?? 'info',
  };
  if (options.securityChannelId !== undefined) env.PIM_SECURITY_CHANNEL = options.securityChannelId;
  return env;
}
