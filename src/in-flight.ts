/** Maximum delay of `setTimeout`. Node fires a longer one, `Infinity` included, after 1 ms. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Work in progress that shutdown waits for: Slack request handlers that keep running after
 * they acknowledged the request.
 */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();

  /** Adds `work` until it settles. */
  track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const forget = () => this.pending.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Number of unsettled pieces of work. */
  get size(): number {
    return this.pending.size;
  }

  /** Waits until everything tracked settles or `timeoutMs` passes; returns how many are left. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.min(deadline - Date.now(), MAX_TIMER_DELAY_MS));
      });
      await Promise.race([Promise.allSettled([...this.pending]), timeout]);
      clearTimeout(timer);
    }
    return this.pending.size;
  }
}
