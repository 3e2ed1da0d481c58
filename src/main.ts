import { systemClock } from './clock.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { DEFAULT_STOP_TIMEOUT_MS, startRuntime, StartupError } from './runtime.js';
import { startSandbox } from './sandbox/start.js';

/** Extra time past the runtime's own stop budget before the process exits regardless. */
const HARD_EXIT_GRACE_MS = 5_000;

async function main(): Promise<void> {
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write('slack-pim cannot start; fix these environment variables:\n');
    for (const problem of loaded.problems) process.stderr.write(`  ${problem}\n`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger(loaded.config.logLevel);
  // An unhandled rejection is a bug, but one lost promise must not end the process and with it
  // every expiry and delivery in progress.
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });

  // Both a runtime and a sandbox stop the same way, which is all the signal handlers need.
  let running: { stop(timeoutMs?: number): Promise<void> };
  try {
    running =
      loaded.mode === 'sandbox'
        ? await startSandbox(loaded.config, systemClock, logger)
        : await startRuntime(loaded.config, systemClock, logger);
  } catch (error) {
    if (error instanceof StartupError) {
      process.stderr.write(`slack-pim cannot start: ${error.message}\n`);
      logger.debug({ err: error.cause }, 'start-up failure cause');
    } else {
      logger.fatal({ err: error }, 'start-up failed');
    }
    process.exitCode = 1;
    return;
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs: DEFAULT_STOP_TIMEOUT_MS }, 'shutting down: finishing requests, jobs and deliveries in hand');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: DEFAULT_STOP_TIMEOUT_MS + HARD_EXIT_GRACE_MS }, 'shutdown timed out; exiting');
      process.exit(1);
    }, DEFAULT_STOP_TIMEOUT_MS + HARD_EXIT_GRACE_MS);
    timer.unref();
    running.stop(DEFAULT_STOP_TIMEOUT_MS).then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

void main();
