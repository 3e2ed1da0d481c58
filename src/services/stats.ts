import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';

/** Counts activations by status, for the `pim_activations` gauge. */
export async function countActivationsByState(db: Executor): Promise<Record<string, number>> {
  const rows = await db.execute<{ status: string; count: number }>(
    sql`select status, count(*)::int as count from activations group by status`,
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.count]));
}
