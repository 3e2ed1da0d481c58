/** Latency distribution of one measurement, in milliseconds. */
export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Summarises samples with nearest-rank percentiles; all fields are NaN when there are none. */
export function distribution(samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (fraction: number) => sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
  return {
    count: sorted.length,
    p50: rank(0.5),
    p90: rank(0.9),
    p99: rank(0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Returns the median of values, NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Closed-loop load: `concurrency` workers each send one request after the previous one returned. */
export interface LoadOptions {
  concurrency: number;
  /**
   * Requests sent first, at the same concurrency, and left out of the figures: they pay for
   * JIT compilation and for opening pooled connections, once per level.
   */
  warmupRequests: number;
  /** Upper bound on measured requests sent. */
  maxRequests: number;
  /** Upper bound on the time spent sending measured requests; workers stop taking new ones after it. */
  maxDurationMs: number;
  /**
   * Sends request number `index` and returns its latency in milliseconds; throws on failure.
   * Indices below `warmupRequests` are the warm-up, with `measured` false.
   */
  send(index: number, measured: boolean): Promise<number>;
  /** Waits, after the warm-up, for the work it left behind, so every level starts from the same state. */
  afterWarmup?: () => Promise<void>;
}

/** Result of one closed-loop load. */
export interface LoadResult {
  latencies: number[];
  /** Latencies of the warm-up requests, reported apart. */
  warmupLatencies: number[];
  failures: number;
  elapsedMs: number;
  /** Completed measured requests per second of wall-clock time. */
  throughputPerSecond: number;
}

/** Runs a warm-up, then a measured closed-loop load, each bounded in count and time. */
export async function runClosedLoop(options: LoadOptions): Promise<LoadResult> {
  const warmup = await runPhase(options, 0, options.warmupRequests, false);
  await options.afterWarmup?.();
  const measured = await runPhase(options, options.warmupRequests, options.maxRequests, true);
  return { ...measured, warmupLatencies: warmup.latencies, failures: warmup.failures + measured.failures };
}

async function runPhase(options: LoadOptions, firstIndex: number, count: number, measured: boolean) {
  const latencies: number[] = [];
  let failures = 0;
  let nextIndex = firstIndex;
  const endIndex = firstIndex + count;
  const startedAt = performance.now();
  const deadline = startedAt + options.maxDurationMs;
  const worker = async () => {
    while (nextIndex < endIndex && performance.now() < deadline) {
      const index = nextIndex;
      nextIndex += 1;
      try {
        latencies.push(await options.send(index, measured));
      } catch {
        failures += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - startedAt;
  return { latencies, failures, elapsedMs, throughputPerSecond: (latencies.length * 1000) / elapsedMs };
}
