/**
 * slack-pim itself, started through `startRuntime` as `npm start` would, against the
 * benchmark's database, Redis prefix and fake Slack. `BENCH_APP_CONFIG` is the JSON of `Config`.
 */
import { sendToDriver, serveDriver } from '../support/ipc.js';

sendToDriver({ type: 'starting', atMs: Date.now() });

const { startRuntime } = await import('../../src/runtime.js');
const { systemClock } = await import('../../src/clock.js');
const { createLogger } = await import('../../src/logger.js');
type Config = import('../../src/config.js').Config;

const configText = process.env.BENCH_APP_CONFIG;
if (configText === undefined) throw new Error('BENCH_APP_CONFIG is not set; start this script with bench/run.ts');
const config = JSON.parse(configText) as Config;
// Logs go to stderr, which the driver keeps in a file, so they cost what they cost in production.
const logger = createLogger(config.logLevel, process.stderr);
const runtime = await startRuntime(config, systemClock, logger);
sendToDriver({ type: 'ready', port: runtime.port ?? 0, atMs: Date.now() });
serveDriver(() => runtime.stop());
