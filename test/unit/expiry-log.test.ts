import { describe, expect, it } from 'vitest';
import { ACTIVATIONS_PER_LOG_LINE, logEndedBatch } from '../../src/jobs/sweep.js';
import type { ActivationRow } from '../../src/services/activation-records.js';
import { captureLog } from '../support/log-capture.js';

const ENDED = 2.5 * ACTIVATIONS_PER_LOG_LINE;

/** Ended rows as the expiry batch returns them. The log reads only ids and times. */
function endedRows(count: number): ActivationRow[] {
  const endedAt = new Date('2026-12-05T12:00:00Z');
  return Array.from({ length: count }, (_, index) => ({
    id: `activation-${index}`,
    endsAt: new Date(endedAt.getTime() - index),
    endedAt,
  })) as unknown as ActivationRow[];
}

describe('expiry log lines', () => {
  it('bounded lines name each activation', () => {
    const log = captureLog('info');
    const rows = endedRows(ENDED);
    logEndedBatch(rows, 'job', log.logger);

    const lines = log.find('activations expired');
    expect(lines.map((line) => (line.activationIds as string[]).length)).toEqual([
      ACTIVATIONS_PER_LOG_LINE,
      ACTIVATIONS_PER_LOG_LINE,
      ENDED - 2 * ACTIVATIONS_PER_LOG_LINE,
    ]);
    expect(lines.flatMap((line) => line.activationIds as string[])).toEqual(rows.map((row) => row.id));
    // Each line's largest lag is its last row's, which ended the longest after its end time.
    expect(lines.map((line) => line.maxLagMs)).toEqual([
      ACTIVATIONS_PER_LOG_LINE - 1,
      2 * ACTIVATIONS_PER_LOG_LINE - 1,
      ENDED - 1,
    ]);
  });

  it('sweep lines say overdue', () => {
    const log = captureLog('info');
    logEndedBatch(endedRows(3), 'sweep', log.logger);
    expect(log.find('overdue activations ended')).toHaveLength(1);
    expect(log.find('activations expired')).toHaveLength(0);
  });

  it('empty batch writes nothing', () => {
    const log = captureLog('info');
    logEndedBatch([], 'job', log.logger);
    expect(log.lines()).toHaveLength(0);
  });
});
