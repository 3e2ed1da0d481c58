import type { Distribution } from './stats.js';

/** Statistics kept for each latency distribution. */
export const DISTRIBUTION_STATS = ['p50', 'p90', 'p99', 'max'] as const;

/**
 * The figures of one run, keyed by scenario, measure and concurrency, so runs can be compared
 * figure by figure. Latencies and times are in milliseconds, memory in MB.
 */
export class RunMetrics {
  readonly values = new Map<string, number>();

  /** Records one figure. */
  set(scenario: string, measure: string, value: number): void {
    this.values.set(`${scenario} | ${measure}`, value);
  }

  /** Records a distribution as its p50, p90, p99 and max, plus the sample count. */
  setDistribution(scenario: string, measure: string, distribution: Distribution): void {
    for (const stat of DISTRIBUTION_STATS) this.set(scenario, `${measure} ${stat}`, distribution[stat]);
    this.set(scenario, `${measure} samples`, distribution.count);
  }
}
