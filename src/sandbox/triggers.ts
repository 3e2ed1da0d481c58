/**
 * Trigger ids and response URLs: the two short-lived handles Slack gives an app with each
 * interaction, with the limits Slack puts on them.
 */
import { randomBytes } from 'node:crypto';
import { RESPONSE_URL_MAX_USES, RESPONSE_URL_TTL_MS, TRIGGER_ID_TTL_MS } from './limits.js';

// Slack documents the trigger id format as "132456.7890123.abcdef" (views.open, invalid_trigger_id).
const TRIGGER_ID_PATTERN = /^\d+\.\d+\.[0-9a-f]+$/;

/** A trigger id as issued: who it belongs to and whether a view was opened with it. */
export interface IssuedTrigger {
  issuedAt: number;
  userId: string | undefined;
  exchanged: boolean;
}

/** Where a response URL posts: the conversation of the interaction and the message it came from. */
export interface ResponseTarget {
  userId?: string;
  channelId?: string;
  /** Message of a block action, which `replace_original` and `delete_original` change. */
  messageTs?: string;
}

interface IssuedResponseUrl extends ResponseTarget {
  issuedAt: number;
  uses: number;
}

/** Issues and exchanges trigger ids, and issues and spends response URLs. */
export class TriggerStore {
  private readonly triggers = new Map<string, IssuedTrigger>();
  private readonly responseUrls = new Map<string, IssuedResponseUrl>();
  private triggerCount = 0;

  constructor(private readonly now: () => number) {}

  /** Issues a trigger id valid once, within {@link TRIGGER_ID_TTL_MS} of now. */
  issueTrigger(userId?: string): string {
    this.triggerCount += 1;
    const seconds = Math.floor(this.now() / 1000);
    const triggerId = `${this.triggerCount}.${seconds}.${randomBytes(8).toString('hex')}`;
    this.triggers.set(triggerId, { issuedAt: this.now(), userId, exchanged: false });
    return triggerId;
  }

  /** Spends a trigger id, or returns the Slack error code that rejects it. */
  exchangeTrigger(triggerId: unknown): IssuedTrigger | string {
    if (typeof triggerId !== 'string' || !TRIGGER_ID_PATTERN.test(triggerId)) {
      return 'invalid_trigger_id';
    }
    const trigger = this.triggers.get(triggerId);
    // Slack documents no separate code for a well-formed id it never issued.
    if (trigger === undefined) {
      return 'expired_trigger_id';
    }
    if (trigger.exchanged) {
      return 'exchanged_trigger_id';
    }
    if (this.now() - trigger.issuedAt > TRIGGER_ID_TTL_MS) {
      return 'expired_trigger_id';
    }
    trigger.exchanged = true;
    return trigger;
  }

  /** Issues the id of a new response URL. */
  issueResponseUrl(target: ResponseTarget = {}): string {
    const id = randomBytes(12).toString('hex');
    this.responseUrls.set(id, { ...target, issuedAt: this.now(), uses: 0 });
    return id;
  }

  /** Returns whether a response URL id was ever issued. */
  knowsResponseUrl(id: string): boolean {
    return this.responseUrls.has(id);
  }

  // NOTE: Slack does not document the reply to a response_url used too often or too late. The
  // stand-in answers HTTP 404 with the codes below, so the app's respond() throws.
  /** Spends one use of a response URL, or returns why it cannot be used. */
  useResponseUrl(id: string): ResponseTarget | 'used_url' | 'expired_url' {
    const issued = this.responseUrls.get(id);
    if (issued === undefined || this.now() - issued.issuedAt > RESPONSE_URL_TTL_MS) {
      return 'expired_url';
    }
    if (issued.uses >= RESPONSE_URL_MAX_USES) {
      return 'used_url';
    }
    issued.uses += 1;
    return issued;
  }

  /** Forgets every trigger id and response URL. */
  clear(): void {
    this.triggers.clear();
    this.responseUrls.clear();
  }
}
