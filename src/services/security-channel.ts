import { sql } from 'drizzle-orm';
import { appState } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';

/** `app_state` key of the security channel's delivery status; the admin dashboard reads it. */
export const SECURITY_CHANNEL_STATUS_KEY = 'security_channel_status';

/**
 * What slack-pim last learned about posting to the security channel. `problem` is `null` while
 * posts go through; otherwise it contains Slack's error code (`channel_not_found`,
 * `not_in_channel`, `is_archived`, `missing_scope`, …) and when it was first seen.
 */
export interface SecurityChannelStatus {
  channelId: string;
  problem: { error: string; since: string } | null;
  checkedAt: string;
}

/**
 * Records that the security channel cannot receive posts. Keeps the first `since` while the
 * same error repeats, so the dashboard shows how long posts have been held back.
 */
export async function recordSecurityChannelProblem(
  db: Executor,
  channelId: string,
  error: string,
  at: Date,
): Promise<void> {
  const value: SecurityChannelStatus = { channelId, problem: { error, since: at.toISOString() }, checkedAt: at.toISOString() };
  await db.execute(sql`
    insert into ${appState} (key, value, updated_at)
    values (${SECURITY_CHANNEL_STATUS_KEY}, ${JSON.stringify(value)}::jsonb, ${at.toISOString()}::timestamptz)
    on conflict (key) do update set
      value = case
        when ${appState.value}->>'channelId' = ${channelId} and ${appState.value}->'problem'->>'error' = ${error}
          then jsonb_set(excluded.value, '{problem,since}', ${appState.value}->'problem'->'since')
        else excluded.value end,
      updated_at = excluded.updated_at`);
}

/**
 * Records that a post to the security channel went through. Writes only when a problem was
 * recorded (or nothing was), so successful posts cost no write.
 */
export async function recordSecurityChannelOk(db: Executor, channelId: string, at: Date): Promise<void> {
  const value: SecurityChannelStatus = { channelId, problem: null, checkedAt: at.toISOString() };
  await db.execute(sql`
    insert into ${appState} (key, value, updated_at)
    values (${SECURITY_CHANNEL_STATUS_KEY}, ${JSON.stringify(value)}::jsonb, ${at.toISOString()}::timestamptz)
    on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at
    where ${appState.value}->'problem' <> 'null'::jsonb or ${appState.value}->>'channelId' <> ${channelId}`);
}

/** Reads the recorded status, or `undefined` when nothing was checked or posted yet. */
export async function readSecurityChannelStatus(db: Executor): Promise<SecurityChannelStatus | undefined> {
  const rows = await db.execute<{ value: SecurityChannelStatus }>(
    sql`select value from ${appState} where key = ${SECURITY_CHANNEL_STATUS_KEY}`,
  );
  return rows[0]?.value;
}
