import { eq } from 'drizzle-orm';
import { requesterMessages } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';

/** The location of a posted Slack message: its conversation id and its `ts`. */
export interface PostedMessage {
  channelId: string;
  ts: string;
}

/**
 * Records the requester's "waiting for approval" DM of a request, so that closing the request
 * rewrites it. The first record of a request is kept.
 */
export async function recordRequesterMessage(db: Executor, message: PostedMessage & { activationId: string }): Promise<void> {
  await db.insert(requesterMessages).values(message).onConflictDoNothing();
}

/** Returns the requester's recorded DM of a request, or `undefined` when none is on record. */
export async function findRequesterMessage(db: Executor, activationId: string): Promise<PostedMessage | undefined> {
  const [row] = await db
    .select({ channelId: requesterMessages.channelId, ts: requesterMessages.ts })
    .from(requesterMessages)
    .where(eq(requesterMessages.activationId, activationId));
  return row;
}
