/**
 * The record of every Web API call and `response_url` post the stand-in received. Tests wait on
 * it, and the web page lists recent calls so that a rejected one is visible.
 */
import { isFailedResponse, type JsonObject } from './http-io.js';

/** Default wait of {@link CallLog.waitFor}. */
export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;

/** A Web API call or `response_url` POST received by the stand-in, in arrival order. */
export interface RecordedCall {
  /** Web API method name such as `chat.postMessage`, or `response_url`. */
  method: string;
  /** Arguments without the token, with `blocks`, `view` and `attachments` decoded from JSON. */
  body: JsonObject;
  /** Full request URL. */
  url: string;
  /** Arrival time in milliseconds since the epoch, from the stand-in's clock. */
  at: number;
  /** HTTP status of the stand-in's response. */
  status: number;
  /** Response body the stand-in sent: a JSON object, or text for an injected 5xx failure. */
  response: JsonObject | string;
}

interface Waiter {
  onCall(call: RecordedCall): void;
  onClose(): void;
}

/** Recorded calls, oldest first, with waits for calls still to come. */
export class CallLog {
  private readonly recorded: RecordedCall[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(call: RecordedCall) => void>();

  /**
   * @param maxCalls calls kept before the oldest are dropped, so a long-running sandbox stays
   * bounded in memory; unbounded when omitted, as tests expect.
   */
  constructor(private readonly maxCalls = Number.POSITIVE_INFINITY) {}

  /** Appends a call and wakes the waits and listeners it concerns. */
  record(call: RecordedCall): void {
    this.recorded.push(call);
    if (this.recorded.length > this.maxCalls) this.recorded.shift();
    for (const waiter of [...this.waiters]) waiter.onCall(call);
    for (const listener of [...this.listeners]) listener(call);
  }

  /** Subscribes to new calls; returns the function that unsubscribes. */
  onCall(listener: (call: RecordedCall) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Returns the recorded calls, all or of one method, oldest first. */
  calls(method?: string): RecordedCall[] {
    return this.recorded.filter((call) => method === undefined || call.method === method);
  }

  /** Returns the recorded calls that failed, with a non-200 status or `ok: false`. */
  rejectedCalls(): RecordedCall[] {
    return this.recorded.filter((call) => call.status !== 200 || isFailedResponse(call.response));
  }

  /** Forgets the recorded calls. */
  clear(): void {
    this.recorded.length = 0;
  }

  /** Resolves with the first `count` calls of `method` that match `predicate`, recorded or arriving within `timeoutMs`. */
  async waitForCount(
    method: string,
    count: number,
    predicate?: (call: RecordedCall) => boolean,
    timeoutMs = DEFAULT_WAIT_TIMEOUT_MS,
  ): Promise<RecordedCall[]> {
    const matches = (call: RecordedCall): boolean => call.method === method && safeTest(predicate, call);
    const found = this.recorded.filter(matches);
    if (found.length >= count) {
      return found.slice(0, count);
    }

    return new Promise<RecordedCall[]>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        onCall: (call) => {
          if (!matches(call)) return;
          found.push(call);
          if (found.length < count) return;
          finish();
          resolve(found.slice(0, count));
        },
        onClose: () => {
          finish();
          reject(new Error(`fake Slack closed while waiting for ${count} × ${method}`));
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(this.describeTimeout(method, count, found.length, timeoutMs)));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Rejects every pending wait. */
  close(): void {
    for (const waiter of [...this.waiters]) waiter.onClose();
  }

  private describeTimeout(method: string, count: number, matched: number, timeoutMs: number): string {
    const counts = new Map<string, number>();
    for (const call of this.recorded) {
      counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
    }
    const seen = [...counts].map(([name, n]) => (n === 1 ? name : `${name} ×${n}`)).join(', ');
    return (
      `timed out after ${timeoutMs} ms waiting for ${count} × ${method} (${matched} matched); ` +
      `recorded calls: ${seen === '' ? 'none' : seen}`
    );
  }
}

// A predicate that throws counts as no match, so a wait on a call of unexpected shape times out
// with the list of calls instead of crashing the stand-in.
function safeTest(predicate: ((call: RecordedCall) => boolean) | undefined, call: RecordedCall): boolean {
  if (predicate === undefined) {
    return true;
  }
  try {
    return predicate(call);
  } catch {
    return false;
  }
}
