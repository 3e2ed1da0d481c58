import type { SocketModeReceiver } from '@slack/bolt';
import { WebAPIPlatformError } from '@slack/web-api';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

type SocketModeClient = SocketModeReceiver['client'];

/** Reconnect delays double from the first to the cap, with up to 20 % random spread. */
const FIRST_RECONNECT_DELAY_MS = 1_000;
const MAX_RECONNECT_DELAY_MS = 30_000;
// apps.connections.open errors that no retry fixes: the app-level token is wrong or revoked.
// https://docs.slack.dev/reference/methods/apps.connections.open#errors
const UNRECOVERABLE_ERRORS = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'user_removed_from_team', 'team_disabled']);

/** The Socket Mode connection as `/healthz` and `/readyz` show it. */
export interface SocketModeStatus {
  connected: boolean;
  /** When the current connection opened; `null` while disconnected. */
  connectedSince: string | null;
  /** When the current gap began; `null` while connected. */
  disconnectedSince: string | null;
  /** Length of the last gap that ended. */
  lastGapMs: number | null;
  /** Connections opened after a dropped or refused one. */
  reconnects: number;
  lastError: string | null;
}

/**
 * Keeps the Socket Mode connection open. The client's own reconnect is turned off, because a failed
 * reconnect rejects a promise that the client never handles, which ends a Node process. This
 * class reconnects after every drop or refusal with exponential backoff, and records the gaps.
 */
export class SocketConnection {
  private readonly client: SocketModeClient;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private connectedAt: number | undefined;
  private disconnectedAt: number | undefined = Date.now();
  private lastGapMs: number | null = null;
  private reconnects = 0;
  private everConnected = false;
  private failures = 0;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private stopped = false;

  constructor(client: SocketModeClient, logger: Logger, metrics?: Metrics) {
    this.client = client;
    this.logger = logger;
    this.metrics = metrics;
    this.metrics?.socketModeConnected.set(0);
    this.client.on('connected', () => this.onConnected());
    this.client.on('disconnected', () => this.onDisconnected());
  }

  /**
   * Opens the first connection. Throws only when Slack rejects the app-level token; any other
   * failure is retried in the background while the process serves `/readyz` as not ready.
   */
  async start(): Promise<void> {
    try {
      await this.client.start();
    } catch (error) {
      if (isUnrecoverable(error)) throw error;
      this.recordFailure(error);
      this.scheduleReconnect();
    }
  }

  /** Closes the connection and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.connecting?.catch(() => undefined);
    await this.client.disconnect();
  }

  /** Returns the connection state and the last gap. */
  status(): SocketModeStatus {
    return {
      connected: this.connectedAt !== undefined,
      connectedSince: this.connectedAt === undefined ? null : new Date(this.connectedAt).toISOString(),
      disconnectedSince: this.disconnectedAt === undefined ? null : new Date(this.disconnectedAt).toISOString(),
      lastGapMs: this.lastGapMs,
      reconnects: this.reconnects,
      lastError: this.lastError,
    };
  }

  private onConnected(): void {
    const now = Date.now();
    if (this.everConnected) {
      this.reconnects += 1;
      this.metrics?.socketModeReconnects.inc();
    }
    if (this.disconnectedAt !== undefined && this.everConnected) this.lastGapMs = now - this.disconnectedAt;
    this.logger.info({ reconnects: this.reconnects, lastGapMs: this.lastGapMs }, 'Socket Mode connected');
    this.everConnected = true;
    this.connectedAt = now;
    this.disconnectedAt = undefined;
    this.failures = 0;
    this.metrics?.socketModeConnected.set(1);
  }

  private onDisconnected(): void {
    if (this.connectedAt !== undefined) {
      this.logger.warn('Socket Mode connection dropped; reconnecting');
      this.connectedAt = undefined;
      this.disconnectedAt = Date.now();
      this.metrics?.socketModeConnected.set(0);
    }
    // A failed connection attempt also ends here; its start() rejection schedules the retry.
    if (this.connecting === undefined) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer !== undefined) return;
    // The first retry after a working connection is immediate: Slack closes connections on
    // purpose every few hours and expects the app to reconnect.
    const delayMs = this.failures === 0 ? 0 : backoffDelayMs(this.failures);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connecting = this.reconnect().finally(() => {
        this.connecting = undefined;
      });
    }, delayMs);
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.client.start();
    } catch (error) {
      this.recordFailure(error);
      this.connecting = undefined;
      this.scheduleReconnect();
    }
  }

  private recordFailure(error: unknown): void {
    this.failures += 1;
    this.lastError = error instanceof Error ? error.message : String(error);
    const log = this.failures === 1 ? this.logger.error.bind(this.logger) : this.logger.debug.bind(this.logger);
    log({ err: error, failures: this.failures }, 'Socket Mode connection failed; retrying with backoff');
  }
}

function backoffDelayMs(failures: number): number {
  const base = Math.min(FIRST_RECONNECT_DELAY_MS * 2 ** (failures - 1), MAX_RECONNECT_DELAY_MS);
  return Math.round(base * (1 + Math.random() * 0.2));
}

function isUnrecoverable(error: unknown): boolean {
  return error instanceof WebAPIPlatformError && UNRECOVERABLE_ERRORS.has(error.data.error);
}
