import { AsyncLocalStorage } from 'node:async_hooks';

/** Outcome of a Slack request, for the `pim_slack_requests_total` metric. */
export type RequestOutcome = 'ok' | 'rejected' | 'unavailable' | 'error' | 'rate_limited';

/** Ids of the request or job being handled, added to every log line written while it runs. */
export type LogFields = Record<string, string | number>;

interface Scope {
  fields: LogFields;
  outcome: RequestOutcome | undefined;
  /** Work the request queued after its ack; its outcome counts once it settles. */
  deferred: Promise<unknown> | undefined;
}

const storage = new AsyncLocalStorage<Scope>();

/**
 * Runs `work` with `fields` attached to every log line it writes, including lines from Bolt,
 * the Web API client and services that only hold the process logger. Nested scopes add fields.
 */
export function runWithLogFields<T>(fields: LogFields, work: () => T): T {
  const parent = storage.getStore();
  return storage.run({ fields: { ...parent?.fields, ...fields }, outcome: undefined, deferred: undefined }, work);
}

/** Returns the log fields of the current request or job, or none outside one. */
export function currentLogFields(): LogFields {
  return storage.getStore()?.fields ?? {};
}

/** Records how the current request ended; the first error outcome set wins over later ones. */
export function setRequestOutcome(outcome: RequestOutcome): void {
  const scope = storage.getStore();
  if (scope !== undefined && (scope.outcome === undefined || scope.outcome === 'ok')) scope.outcome = outcome;
}

/** Returns the outcome recorded for the current request, `ok` when nothing went wrong. */
export function currentRequestOutcome(): RequestOutcome {
  return storage.getStore()?.outcome ?? 'ok';
}

/** Records work the current request queued after its ack, so its outcome is counted when it ends. */
export function deferRequestWork(work: Promise<unknown>): void {
  const scope = storage.getStore();
  if (scope !== undefined) scope.deferred = work;
}

/** Returns the work the current request queued after its ack, if any. */
export function currentDeferredWork(): Promise<unknown> | undefined {
  return storage.getStore()?.deferred;
}
