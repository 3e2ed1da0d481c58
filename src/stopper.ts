import type { Logger } from './logger.js';
import { TimeoutError, withTimeout } from './timeout.js';

/**
 * When a stage runs during shutdown: `intake` stops new requests and finishes running handlers,
 * `work` stops jobs and deliveries, `last` closes the health server, and `close` (the default)
 * closes connections in the reverse order they were opened.
 */
export type StopPhase = 'intake' | 'work' | 'last' | 'close';

interface Stage {
  name: string;
  phase: StopPhase;
  run: () => Promise<void>;
  onTimeout: (() => Promise<void>) | undefined;
}

const PHASES: readonly StopPhase[] = ['intake', 'work', 'last', 'close'];
// Closing connections is quick; it still gets this long when the waiting used up the budget.
const CLOSE_GRACE_MS = 2_000;

/** Runs the shutdown stages of a runtime in order, within one time budget. */
export class Stopper {
  private readonly stages: Stage[] = [];
  private readonly logger: Logger;
  private stopped: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** True once `stop` was called. */
  get stopping(): boolean {
    return this.stopped !== undefined;
  }

  /**
   * Adds a stage. `onTimeout` runs when the stage outlives its share of the budget, to force it
   * (BullMQ workers abandon their jobs, which their lock expiry hands to another worker).
   */
  add(name: string, run: () => Promise<void>, options: { phase?: StopPhase; onTimeout?: () => Promise<void> } = {}): void {
    this.stages.push({ name, run, phase: options.phase ?? 'close', onTimeout: options.onTimeout });
  }

  /** Runs every stage once; later calls return the first call's promise. */
  stop(timeoutMs: number): Promise<void> {
    this.stopped ??= this.runStages(Date.now() + timeoutMs);
    return this.stopped;
  }

  private async runStages(deadline: number): Promise<void> {
    for (const phase of PHASES) {
      const stages = this.stages.filter((stage) => stage.phase === phase);
      if (phase === 'close') stages.reverse();
      for (const stage of stages) {
        const budgetMs = phase === 'close' ? Math.max(deadline - Date.now(), CLOSE_GRACE_MS) : deadline - Date.now();
        await this.runStage(stage, budgetMs);
      }
    }
  }

  private async runStage(stage: Stage, budgetMs: number): Promise<void> {
    const startedAt = Date.now();
    try {
      await withTimeout(stage.run(), Math.max(budgetMs, 0), `stopping ${stage.name}`);
      this.logger.debug({ stage: stage.name, tookMs: Date.now() - startedAt }, 'stopped');
    } catch (error) {
      if (error instanceof TimeoutError) {
        this.logger.warn({ stage: stage.name, budgetMs }, 'shutdown stage ran out of time; forcing it');
        await stage.onTimeout?.().catch((forceError: unknown) => this.logger.warn({ err: forceError, stage: stage.name }, 'forcing failed'));
        return;
      }
      this.logger.warn({ err: error, stage: stage.name }, 'error while stopping');
    }
  }
}
