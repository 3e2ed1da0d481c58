import { ensureDatabaseExists, runMigrations } from '../db/client.js';
import { DEFAULT_DATABASE_URL } from './config.js';

// `npm run db:migrate`: needs only DATABASE_URL, so it runs before Slack credentials exist.
async function migrateFromCommandLine(): Promise<void> {
  const url = process.env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL;
  const { created } = await ensureDatabaseExists(url);
  if (created) process.stdout.write(`created database ${new URL(url).pathname.slice(1)}\n`);
  await runMigrations(url);
  process.stdout.write('migrations applied\n');
}

migrateFromCommandLine().catch((error: unknown) => {
  process.stderr.write(`db:migrate failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
