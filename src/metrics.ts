import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Kinds of Slack request counted apart. */
export type SlackRequestType = 'command' | 'block_actions' | 'view_submission' | 'event' | 'other';

// Slack drops a request that is not acknowledged within 3 seconds, so the buckets are dense below 3 s.
const ACK_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5];
// Revocation is due at the end time; a job is usually late by milliseconds, a sweep by up to a minute.
const REVOKE_LAG_BUCKETS_SECONDS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900];

/** The Prometheus instruments of one process, on a registry of its own. */
export interface Metrics {
  registry: Registry;
  slackRequests: Counter<'type' | 'outcome'>;
  ackDuration: Histogram<'type'>;
  activations: Gauge<'state'>;
  revokeLag: Histogram<'trigger'>;
  outboxBacklog: Gauge;
  outboxFailed: Gauge;
  outboxDeliveries: Counter<'kind' | 'outcome'>;
  jobFailures: Counter<'queue'>;
  socketModeConnected: Gauge;
  socketModeReconnects: Counter;
}

/** Readers of state kept in Postgres, run when `/metrics` is scraped. */
export interface MetricSources {
  countActivationsByState(): Promise<Record<string, number>>;
  countOutbox(): Promise<{ backlog: number; failed: number }>;
}

/**
 * Creates the instruments. A registry per process (not prom-client's global one) lets several
 * runtimes live in one test process without sharing counts.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'pim_' });
  const registers = [registry];
  return {
    registry,
    slackRequests: new Counter({
      name: 'pim_slack_requests_total',
      help: 'Slack requests handled, by type and outcome (ok, rejected, unavailable, error, rate_limited).',
      labelNames: ['type', 'outcome'],
      registers,
    }),
    ackDuration: new Histogram({
      name: 'pim_slack_ack_duration_seconds',
      help: 'Time from receiving a Slack request to acknowledging it; Slack gives up after 3 seconds.',
      labelNames: ['type'],
      buckets: ACK_BUCKETS_SECONDS,
      registers,
    }),
    activations: new Gauge({
      name: 'pim_activations',
      help: 'Activations in Postgres, by state.',
      labelNames: ['state'],
      registers,
    }),
    revokeLag: new Histogram({
      name: 'pim_revoke_lag_seconds',
      help: 'Time from an activation end time to the moment it was ended, by what ended it (job or sweep).',
      labelNames: ['trigger'],
      buckets: REVOKE_LAG_BUCKETS_SECONDS,
      registers,
    }),
    outboxBacklog: new Gauge({
      name: 'pim_outbox_backlog',
      help: 'Owed messages and jobs not yet delivered.',
      registers,
    }),
    outboxFailed: new Gauge({
      name: 'pim_outbox_failed',
      help: 'Owed messages and jobs given up on after permanent errors or too many attempts.',
      registers,
    }),
    outboxDeliveries: new Counter({
      name: 'pim_outbox_deliveries_total',
      help: 'Outbox delivery attempts, by kind and outcome (delivered, retry, failed).',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    jobFailures: new Counter({
      name: 'pim_job_failures_total',
      help: 'Failed attempts of BullMQ jobs and of the local sweep, by queue.',
      labelNames: ['queue'],
      registers,
    }),
    socketModeConnected: new Gauge({
      name: 'pim_socket_mode_connected',
      help: '1 while the Socket Mode connection to Slack is open, 0 otherwise; absent in HTTP mode.',
      registers,
    }),
    socketModeReconnects: new Counter({
      name: 'pim_socket_mode_reconnects_total',
      help: 'Socket Mode connections opened after a dropped or refused one.',
      registers,
    }),
  };
}

/**
 * Fills the Postgres-backed gauges at scrape time. A failed read leaves the last values and
 * the scrape still succeeds, so an outage shows in `/readyz` instead of breaking `/metrics`.
 */
export async function refreshStoredGauges(metrics: Metrics, sources: MetricSources): Promise<void> {
  const [byState, outbox] = await Promise.allSettled([sources.countActivationsByState(), sources.countOutbox()]);
  if (byState.status === 'fulfilled') {
    metrics.activations.reset();
    for (const [state, count] of Object.entries(byState.value)) metrics.activations.set({ state }, count);
  }
  if (outbox.status === 'fulfilled') {
    metrics.outboxBacklog.set(outbox.value.backlog);
    metrics.outboxFailed.set(outbox.value.failed);
  }
}
