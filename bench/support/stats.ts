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
  /** Upper bound on requests sent. */
  maxRequests: number;
  /** Upper bound on the time spent sending; workers stop taking new requests after it. */
  maxDurationMs: number;
  /** Sends request number `index` and returns its latency in milliseconds; throws on failure. */
  send(index: number): Promise<number>;
}

/** Result of one closed-loop load. */
export interface LoadResult {
  latencies: number[];
  failures: number;
  elapsedMs: number;
  /** Completed requests per second of wall-clock time. */
  throughputPerSecond: number;
}

/** Runs a closed-loop load, bounded in count and time. */
export async function runClosedLoop(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  let nextIndex = 0;
  const startedAt = performance.now();
  const deadline = startedAt + options.maxDurationMs;
  const worker = async () => {
    while (nextIndex < options.maxRequests && performance.now() < deadline) {
      const index = nextIndex;
      nextIndex += 1;
      try {
        latencies.push(await options.send(index));
      } catch {
        failures += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - startedAt;
  return { latencies, failures, elapsedMs, throughputPerSecond: (latencies.length * 1000) / elapsedMs };
}
