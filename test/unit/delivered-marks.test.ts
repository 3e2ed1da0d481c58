import { describe, expect, it } from 'vitest';
import type { Database } from '../../db/client.js';
import { DeliveredMarks } from '../../src/jobs/delivered-marks.js';
import { createLogger } from '../../src/logger.js';

// Microtask hops, counted from the first UPDATE's return, at which a second row is marked. They
// cover the steps that end the flush of that UPDATE.
const MAX_HOPS = 8;
const MARK_WAIT_MS = 200;

describe('delivered marks', () => {
  it('marks a row sent as a flush ends', async () => {
    const unmarkedAtHops: number[] = [];
    const pendingAfterSettledAtHops: number[] = [];
    for (let hops = 0; hops <= MAX_HOPS; hops++) {
      let updates = 0;
      let finishFirstUpdate = (): void => undefined;
      // Stands in for the database: the first UPDATE returns on finishFirstUpdate, later ones at once.
      const db = {
        execute: () => {
          updates += 1;
          if (updates === 1) return new Promise<void>((resolve) => (finishFirstUpdate = resolve));
          return Promise.resolve([]);
        },
      };
      const marks = new DeliveredMarks(db as unknown as Database, createLogger('silent'));
      void marks.mark(1);

      finishFirstUpdate();
      let hopped = Promise.resolve();
      for (let hop = 0; hop < hops; hop++) hopped = hopped.then(() => undefined);
      const secondMarked = hopped.then(() => marks.mark(2));
      const marked = await Promise.race([
        secondMarked.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), MARK_WAIT_MS)),
      ]);
      if (!marked) unmarkedAtHops.push(hops);
      await marks.settled();
      if (marks.pending > 0) pendingAfterSettledAtHops.push(hops);
    }

    expect(unmarkedAtHops).toEqual([]);
    expect(pendingAfterSettledAtHops).toEqual([]);
  });
});
