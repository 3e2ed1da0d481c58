import type { FakeSlack, RecordedCall } from '../../test/support/fake-slack.js';

/**
 * Waits for Slack calls that match a key (a user id, a trigger id) and reports when each call
 * arrived at the fake. One `expect` consumes one matching call, oldest first.
 *
 * A call can arrive before its `expect`, because the app sends `views.open` right after its ack
 * and the fake, in the driver's process, may take that call before the driver reads the ack.
 * Such a call is kept until an `expect` for its key takes it, or until `close`.
 */
export class CallTracker {
  private readonly waiting = new Map<string, { sinceMs: number; resolve: (atMs: number) => void }[]>();
  /** Arrival times of calls that no `expect` was waiting for yet, by key, oldest first. */
  private readonly early = new Map<string, number[]>();
  private readonly unsubscribe: () => void;

  constructor(fake: FakeSlack, method: string, keyOf: (call: RecordedCall) => string | undefined) {
    this.unsubscribe = fake.onCall((call) => {
      if (call.method !== method) return;
      const key = keyOf(call);
      if (key === undefined) return;
      const queue = this.waiting.get(key);
      const index = queue?.findIndex((entry) => entry.sinceMs <= call.at) ?? -1;
      if (queue === undefined || index < 0) {
        const arrived = this.early.get(key);
        if (arrived === undefined) this.early.set(key, [call.at]);
        else arrived.push(call.at);
        return;
      }
      const [entry] = queue.splice(index, 1);
      if (queue.length === 0) this.waiting.delete(key);
      entry?.resolve(call.at);
    });
  }

  /** Resolves with the arrival time of the next matching call at or after `sinceMs`, or rejects after `timeoutMs`. */
  expect(key: string, sinceMs: number, timeoutMs: number): Promise<number> {
    const arrived = this.early.get(key);
    const index = arrived?.findIndex((atMs) => atMs >= sinceMs) ?? -1;
    if (arrived !== undefined && index >= 0) {
      const [atMs] = arrived.splice(index, 1);
      if (arrived.length === 0) this.early.delete(key);
      return Promise.resolve(atMs ?? sinceMs);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no call for ${key} within ${timeoutMs} ms`)), timeoutMs);
      const queue = this.waiting.get(key) ?? [];
      queue.push({
        sinceMs,
        resolve: (atMs) => {
          clearTimeout(timer);
          resolve(atMs);
        },
      });
      this.waiting.set(key, queue);
    });
  }

  close(): void {
    this.unsubscribe();
    this.early.clear();
  }
}

/** Returns the user a `chat.postMessage` went to when it is a DM (the channel is a user id). */
export function dmUserOf(call: RecordedCall): string | undefined {
  const channel = call.body.channel;
  return typeof channel === 'string' && channel.startsWith('U') ? channel : undefined;
}

/** Returns the user mentioned first in a `chat.postMessage` to `channelId`. */
export function mentionedUserIn(channelId: string): (call: RecordedCall) => string | undefined {
  return (call) => {
    if (call.body.channel !== channelId || typeof call.body.text !== 'string') return undefined;
    return /<@(U[A-Z0-9]+)/.exec(call.body.text)?.[1];
  };
}
