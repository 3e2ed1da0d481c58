import { parseArgs } from 'node:util';
import { z } from 'zod';
import { connectDatabase } from '../db/client.js';
import { DEFAULT_DATABASE_URL } from './config.js';
import { verifyAuditChain, type AuditChainCheck, type AuditHead } from './services/audit-verify.js';

// `npm run audit:verify [-- --head ID:HASH]`: needs only DATABASE_URL. Exit status 0 when the chain
// verifies, 1 when it does not, 2 for invalid arguments or a failed connection.

const USAGE = 'usage: npm run audit:verify [-- --head ID:HASH]   (ID:HASH as printed by an earlier run)';

const headSchema = z
  .string()
  .regex(/^\d+:[0-9a-fA-F]{64}$/, 'expected ID:HASH, such as 1234:9f86d081… with the whole 64-character hash')
  .transform((text): AuditHead => {
    const [id = '', hash = ''] = text.split(':');
    return { id: Number(id), hash: hash.toLowerCase() };
  });

const PROBLEMS: Record<Extract<AuditChainCheck, { ok: false }>['reason'], string> = {
  prev_hash_mismatch: 'does not link to the event before it: an event was deleted, inserted or reordered there',
  hash_mismatch: 'does not match its hash: the event was edited',
  recorded_head_missing: 'was recorded earlier and is gone: the newest events were deleted',
  recorded_head_mismatch: 'was recorded earlier with another hash: the chain up to it was rewritten',
};

async function verifyFromCommandLine(): Promise<number> {
  let recorded: AuditHead | undefined;
  try {
    const { values } = parseArgs({ options: { head: { type: 'string' } }, strict: true });
    if (values.head !== undefined) recorded = headSchema.parse(values.head);
  } catch (error) {
    let message = error instanceof Error ? error.message : String(error);
    if (error instanceof z.ZodError) message = error.issues[0]?.message ?? 'invalid --head';
    process.stderr.write(`audit:verify: ${message}\n${USAGE}\n`);
    return 2;
  }

  const url = process.env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL;
  // Named first, so that a run against the wrong database cannot pass for a verdict on the right one.
  const { hostname, port, pathname } = new URL(url);
  process.stdout.write(`checking the audit chain in database ${pathname.slice(1)} on ${hostname}:${port || '5432'}\n`);
  const database = connectDatabase(url, { maxConnections: 1 });
  try {
    const check = await verifyAuditChain(database.db, recorded);
    if (!check.ok) {
      process.stdout.write(
        `audit chain BROKEN: event ${check.brokenAtId} ${PROBLEMS[check.reason]} (${check.events} events verified before it)\n`,
      );
      return 1;
    }
    process.stdout.write(`audit chain verified: ${check.events} events${recorded === undefined ? '' : `, including recorded event ${recorded.id}`}\n`);
    if (check.head === undefined) {
      process.stdout.write('the chain is empty: if events were expected here, check DATABASE_URL\n');
    } else {
      process.stdout.write(`newest event: ${check.head.id} at ${check.head.occurredAt.toISOString()}\n`);
      process.stdout.write(`record this head outside the database, and pass it with --head next time: ${check.head.id}:${check.head.hash}\n`);
    }
    return 0;
  } finally {
    await database.close();
  }
}

verifyFromCommandLine().then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    // drizzle wraps the driver's error, whose message names the problem, such as a missing database.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
    const message = cause ?? (error instanceof Error ? error.message : String(error));
    process.stderr.write(`audit:verify failed: ${message}. Check DATABASE_URL and that PostgreSQL is running.\n`);
    process.exitCode = 2;
  },
);
