import type { Logger } from '../logger.js';

/**
 * Logs the first failure of a recurring task at error and its repeats at debug, then one info
 * line with the count when it works again. A Postgres or Redis outage then costs two log lines
 * per task instead of one every poll.
 */
export class RepeatedFailureLog {
  private failures = 0;
  private firstFailedAt: number | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly task: string,
  ) {}

  /** Records a failure; logs it at error when it is the first since the task last worked. */
  failed(error: unknown, message: string): void {
    this.failures += 1;
    if (this.failures === 1) {
      this.firstFailedAt = Date.now();
      this.logger.error({ err: error, task: this.task }, message);
    } else {
      this.logger.debug({ err: error, task: this.task, failures: this.failures }, message);
    }
  }

  /** Records a success; logs the recovery when failures came before it. */
  recovered(): void {
    if (this.failures === 0) return;
    const downMs = Date.now() - (this.firstFailedAt ?? Date.now());
    this.logger.info({ task: this.task, failures: this.failures, downMs }, 'recovered after repeated failures');
    this.failures = 0;
    this.firstFailedAt = undefined;
  }
}
