/**
 * The floor: a bare Bolt app on the same HTTP receiver as slack-pim, whose `/pim` handler only
 * acks (`BENCH_FLOOR_MODE=ack`) or acks after one Postgres and one Redis round trip (`io`).
 */
import { sendToDriver, serveDriver } from '../support/ipc.js';

sendToDriver({ type: 'starting', atMs: Date.now() });

const { App, HTTPReceiver, LogLevel } = await import('@slack/bolt');
const { Redis } = await import('ioredis');
const { default: postgres } = await import('postgres');

const mode = process.env.BENCH_FLOOR_MODE;
const signingSecret = requireEnv('BENCH_SIGNING_SECRET');
if (mode !== 'ack' && mode !== 'io') throw new Error(`BENCH_FLOOR_MODE must be ack or io, got ${mode}`);

// The same pool size and Redis options as the app (db/client.ts, src/runtime.ts).
const sql = mode === 'io' ? postgres(requireEnv('BENCH_DATABASE_URL'), { max: 10, onnotice: () => undefined }) : undefined;
const redis = mode === 'io' ? new Redis(requireEnv('BENCH_REDIS_URL'), { maxRetriesPerRequest: null }) : undefined;

const receiver = new HTTPReceiver({ signingSecret, endpoints: '/slack/events', logLevel: LogLevel.ERROR });
const app = new App({
  token: 'xoxb-floor',
  botId: 'BBOT',
  botUserId: 'UBOT',
  tokenVerificationEnabled: false,
  receiver,
  logLevel: LogLevel.ERROR,
});
app.command('/pim', async ({ ack }) => {
  if (sql !== undefined && redis !== undefined) {
    await sql`select 1`;
    await redis.ping();
  }
  await ack();
});

const server = await receiver.start(0);
const address = server.address();
const port = typeof address === 'object' && address !== null ? address.port : 0;
sendToDriver({ type: 'ready', port, atMs: Date.now() });
serveDriver(async () => {
  await receiver.stop();
  await sql?.end({ timeout: 5 });
  redis?.disconnect();
});

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set; start this script with bench/run.ts`);
  return value;
}
