import { afterEach, describe, expect, it } from 'vitest';
import { InFlight } from '../../src/in-flight.js';

const warnings: string[] = [];
const recordWarning = (warning: Error) => warnings.push(warning.name);

afterEach(() => {
  process.off('warning', recordWarning);
  warnings.length = 0;
});

describe('InFlight.drain', () => {
  it('waits without a time limit', async () => {
    process.on('warning', recordWarning);
    const inFlight = new InFlight();
    let finished = false;
    inFlight.track(
      new Promise<void>((resolve) =>
        setTimeout(() => {
          finished = true;
          resolve();
        }, 50),
      ),
    );

    const remaining = await inFlight.drain(Number.POSITIVE_INFINITY);
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));

    expect(remaining).toBe(0);
    expect(finished).toBe(true);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('gives up after its time limit', async () => {
    const inFlight = new InFlight();
    inFlight.track(new Promise<void>(() => undefined));

    const remaining = await inFlight.drain(20);

    expect(remaining).toBe(1);
  });
});
