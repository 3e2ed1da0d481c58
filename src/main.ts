import { systemClock } from './clock.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startRuntime, StartupError } from './runtime.js';
import { startSandbox } from './sandbox/start.js';

/** Maximum wait for in-flight work on shutdown before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

async function main(): Promise<void> {
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write('slack-pim cannot start; fix these environment variables:\n');
    for (const problem of loaded.problems) process.stderr.write(`  ${problem}\n`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger(loaded.config.logLevel);

  // Both a runtime and a sandbox stop the same way, which is all the signal handlers need.
  let running: { stop(): Promise<void> };
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
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    running.stop().then(
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
