import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, DriverMessage, MemoryReport } from './ipc.js';

// A child that has not reported ready by then is treated as failed.
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/** A server process started by the driver, talking over IPC. */
export interface ChildServer {
  process: ChildProcess;
  port: number;
  /** Wall-clock time when the child's first line ran, before it loaded the app. */
  startingAtMs: number;
  readyAtMs: number;
  memory(): Promise<MemoryReport>;
  /** Waits for the child's next `result` message. */
  result(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Root of the repository, where `npm run build` writes `dist/`. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Node options of the app, the same as in `npm start` (package.json). */
const APP_NODE_OPTIONS = ['--heap-growing-percent=100'];
let appBuilt = false;

/**
 * Compiles the app once per driver process with `npm run build`, as `npm start` does, so the
 * app child runs the JavaScript that production runs.
 */
function buildApp(): void {
  if (appBuilt) return;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  appBuilt = true;
}

/**
 * Starts a benchmark server, with its stderr appended to `logFile`, and resolves once it reports
 * ready. The app runs compiled, with plain Node, as `npm start` runs it; the other servers run
 * `bench/servers/<script>.ts` under tsx. `nodeOptions` go to Node before the script, such as
 * `--cpu-prof` (which Node does not accept in `NODE_OPTIONS`).
 */
export async function startChild(
  script: string,
  env: Record<string, string>,
  logFile: string,
  nodeOptions: readonly string[] = [],
): Promise<ChildServer> {
  const compiled = script === 'app';
  if (compiled) buildApp();
  const path = compiled
    ? `${ROOT}dist/bench/servers/app.js`
    : fileURLToPath(new URL(`../servers/${script}.ts`, import.meta.url));
  const child = fork(path, [], {
    execArgv: compiled ? [...APP_NODE_OPTIONS, ...nodeOptions] : [...nodeOptions, '--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child.stderr?.pipe(createWriteStream(logFile, { flags: 'a' }));
  const listeners = new Set<(message: ChildMessage) => void>();
  // A result can arrive before the driver requests it, so the latest one is kept.
  let lastResult: Record<string, number> | undefined;
  child.on('message', (message: ChildMessage) => {
    if (message.type === 'result') lastResult = message.result;
    for (const listener of [...listeners]) listener(message);
  });
  const next = <T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${script}: no ${type} message within ${timeoutMs} ms; see ${logFile}`));
      }, timeoutMs);
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`${script} exited with code ${code} before sending ${type}; see ${logFile}`));
      };
      const listener = (message: ChildMessage) => {
        if (message.type !== type) return;
        cleanup();
        resolve(message as Extract<ChildMessage, { type: T }>);
      };
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(listener);
        child.off('exit', onExit);
      };
      listeners.add(listener);
      child.on('exit', onExit);
    });

  const starting = next('starting', START_TIMEOUT_MS);
  const ready = next('ready', START_TIMEOUT_MS);
  const { atMs: startingAtMs } = await starting;
  const { port, atMs: readyAtMs } = await ready;
  const send = (message: DriverMessage) => child.send(message);
  return {
    process: child,
    port,
    startingAtMs,
    readyAtMs,
    memory: async () => {
      const report = next('memory', 5_000);
      send({ type: 'memory' });
      return report;
    },
    result: async () => lastResult ?? (await next('result', 10 * 60_000)).result,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
