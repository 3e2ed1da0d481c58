import { EXPIRY_BATCH_SIZE, expireDueActivations } from '../services/activation-ending.js';
import type { ActivationRow } from '../services/activation-records.js';
import type { ServiceContext } from '../services/context.js';

/** A batch's ended activations, and whether the caller's own request started that batch. */
export interface BatchResult {
  ended: ActivationRow[];
  started: boolean;
}

interface RunningBatch {
  startedAt: number;
  done: Promise<ActivationRow[]>;
}

/** Batches that run at once in one process; `SKIP LOCKED` gives each its own rows. */
const MAX_RUNNING_BATCHES = 8;
/** Ended activation ids kept by each memory (batches' and sweeps'), enough for two waves of 10,000 ends. */
const REMEMBERED_ENDINGS = 20_000;

/**
 * Runs `expireDueActivations` batches for expiry jobs, a few at a time, and lets jobs share them.
 * A job needs a batch that started no earlier than the job itself, so that its own activation
 * was due when the batch read the due rows. It joins a running batch that started late enough,
 * or starts one while fewer than MAX_RUNNING_BATCHES run. Otherwise it waits for the batch that
 * starts when a running one ends, which every job waiting meanwhile shares. A burst of 10,000
 * end times then costs a few dozen batch transactions instead of one or two per job.
 */
export class ExpiryBatches {
  private readonly running = new Set<RunningBatch>();
  private next: Promise<ActivationRow[]> | undefined;
  // Insertion-ordered, so the oldest ids are dropped first once they are full.
  private readonly ended = new Set<string>();
  private readonly swept = new Set<string>();

  constructor(private readonly context: ServiceContext) {}

  /** Resolves with a batch that started at `since` (milliseconds since the epoch) or later. */
  async runSince(since: number): Promise<BatchResult> {
    for (const batch of this.running) {
      if (batch.startedAt >= since) return { ended: await batch.done, started: false };
    }
    if (this.running.size < MAX_RUNNING_BATCHES) return { ended: await this.start().done, started: true };
    let startedHere = false;
    this.next ??= Promise.race([...this.running].map((batch) => batch.done.catch(() => undefined))).then(() => {
      this.next = undefined;
      startedHere = true;
      return this.start().done;
    });
    const ended = await this.next;
    return { ended, started: startedHere };
  }

  /**
   * Returns whether a recent batch of this process ended the activation. A batch reports its rows
   * after its commit, and an ended activation never becomes active again, so `true` needs no read.
   * `false` means only that this process does not know.
   */
  hasEnded(activationId: string): boolean {
    return this.ended.has(activationId);
  }

  /** Records the activations a sweep of this process ended. */
  recordSwept(rows: readonly { id: string }[]): void {
    remember(this.swept, rows);
  }

  /**
   * Returns whether a sweep of this process ended the activation. A sweep runs until no overdue
   * row is left, so that activation's job has nothing to end and need not start a batch.
   */
  wasSwept(activationId: string): boolean {
    return this.swept.has(activationId);
  }

  private start(): RunningBatch {
    const batch: RunningBatch = {
      startedAt: this.context.clock.now().getTime(),
      done: expireDueActivations(this.context, EXPIRY_BATCH_SIZE),
    };
    this.running.add(batch);
    const clear = () => this.running.delete(batch);
    batch.done.then((rows) => {
      remember(this.ended, rows);
      clear();
    }, clear);
    return batch;
  }
}

/** Adds the rows' ids to `ids` and drops the oldest beyond REMEMBERED_ENDINGS. */
function remember(ids: Set<string>, rows: readonly { id: string }[]): void {
  for (const row of rows) ids.add(row.id);
  for (const oldest of ids) {
    if (ids.size <= REMEMBERED_ENDINGS) break;
    ids.delete(oldest);
  }
}
