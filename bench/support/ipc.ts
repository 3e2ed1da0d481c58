/** Messages between the benchmark driver and the processes it starts. */

/** A child's report of its resident memory, in bytes. */
export interface MemoryReport {
  type: 'memory';
  rssBytes: number;
  /** Peak resident set size of the process so far (`process.resourceUsage().maxRSS`). */
  maxRssBytes: number;
}

/** Messages a child sends to the driver. */
export type ChildMessage =
  /** Sent first, before any module of the app loads: the start of a cold start. */
  | { type: 'starting'; atMs: number }
  | { type: 'ready'; port: number; atMs: number }
  | MemoryReport
  | { type: 'result'; result: Record<string, number> };

/** Messages the driver sends to a child. */
export type DriverMessage = { type: 'memory' } | { type: 'stop' };

/** Reads this process's memory as a `MemoryReport`. */
export function readMemory(): MemoryReport {
  return {
    type: 'memory',
    rssBytes: process.memoryUsage().rss,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** Sends a message to the driver; throws when the process was not started with an IPC channel. */
export function sendToDriver(message: ChildMessage): void {
  if (process.send === undefined) throw new Error('this script is started by bench/run.ts, which opens an IPC channel');
  process.send(message);
}

/** Replies to memory requests, and runs `stop` then exits on a stop message or when the driver disconnects. */
export function serveDriver(stop: () => Promise<void>): void {
  process.on('message', (message: DriverMessage) => {
    if (message.type === 'memory') sendToDriver(readMemory());
    if (message.type === 'stop') {
      void stop().finally(() => process.exit(0));
    }
  });
  // The driver going away must not leave servers behind.
  process.on('disconnect', () => {
    void stop().finally(() => process.exit(0));
  });
}
