import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { endpointGroupOf } from '../policy/index.js';
import type { UsageRecord } from '../store/index.js';
import type { AuthFailureReason, DetectorName } from './types.js';

/** Wire error codes of auth failures, so denial labels read the same whichever path counted them. */
const AUTH_DENIAL_CODE: Record<AuthFailureReason, string> = {
  invalid: 'invalid_api_key',
  revoked: 'key_revoked',
  expired: 'key_expired',
  missing: 'missing_api_key',
  suspended: 'key_suspended',
};

const UPSTREAM_FAILURE_CODES = new Set(['upstream_unavailable', 'upstream_timeout', 'no_upstream']);

/**
 * Caps the distinct values of a label. Model names and paths come from clients; without a cap one client could
 * create unbounded time series.
 */
class LabelCap {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}

/**
 * Resolves a metric's child for a label combination once and reuses it: prom-client hashes the label object on
 * every call otherwise, which costs more than the increment. Bounded because every label value passes a LabelCap.
 */
function children<C>(make: (...values: string[]) => C): (...values: string[]) => C {
  const cache = new Map<string, C>();
  return (...values) => {
    const id = values.join('\n');
    let child = cache.get(id);
    if (!child) {
      child = make(...values);
      cache.set(id, child);
    }
    return child;
  };
}

/** Increments of one counter for one label combination, not yet handed to prom-client. */
interface Tally {
  readonly labels: Partial<Record<string, string>>;
  value: number;
}

/**
 * Counter increments for every usage record, summed in a plain number per label combination and handed to
 * prom-client by the counter's collect hook, which runs whenever the metric is read (a /metrics scrape). Even
 * through a child, prom-client hashes the labels on every increment (about 0.3 µs; four of them per request), where
 * this is one addition. Readers see the same totals. One tally per label combination, found as `children` finds a
 * child (and bounded the same way).
 */
function tallies(labelNames: readonly string[]): { of: (...values: string[]) => Tally; drain: (counter: Counter) => void } {
  const all: Tally[] = [];
  const of = children((...values) => {
    const labels: Partial<Record<string, string>> = {};
    labelNames.forEach((name, i) => (labels[name] = values[i]));
    const tally = { labels, value: 0 };
    all.push(tally);
    return tally;
  });
  return {
    of,
    drain(counter) {
      for (const tally of all) {
        if (tally.value === 0) continue;
        counter.inc(tally.labels, tally.value);
        tally.value = 0;
      }
    },
  };
}

export interface MonitorMetrics {
  readonly registry: Registry;
  /** Counts one finished request from its usage record (requests, latency, tokens, spend, denials, upstream errors). */
  observeUsage(record: UsageRecord): void;
  /** Counts a request rejected before it had a key (401s, suspended keys). */
  observeAuthFailure(reason: AuthFailureReason): void;
  alertRaised(detector: DetectorName): void;
  deliveryFailed(sink: string): void;
  securityEventsDropped(count: number): void;
  /** Reports the Realtime sessions open now, read at each scrape (`keywarden_realtime_sessions`). */
  gaugeRealtimeSessions(read: () => number): void;
  /** The text exposition for GET /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  registry?: Registry;
  /** Process metrics (CPU, memory, event loop lag). Off in tests. */
  defaultMetrics?: boolean;
  maxLabelValues?: number;
}

/** The status label values, indexed by statusClassIndex. */
const STATUS_CLASSES: readonly string[] = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'];
const statusClassIndex = (status: number): number => (status >= 100 && status < 600 ? Math.floor(status / 100) : 0);

/** Bounds the per-path and per-model series caches: a path or model name comes from clients. */
const SERIES_CACHE_LIMIT = 10_000;

/** What one record feeds for its endpoint: the latency histogram's child and the request tally per status class. */
interface EndpointSeries {
  readonly latency: { observe(value: number): void };
  readonly byStatus: readonly Tally[];
}

/** What one record feeds for its model. */
interface ModelSeries {
  readonly prompt: Tally;
  readonly completion: Tally;
  readonly cached: Tally;
  readonly reasoning: Tally;
  readonly spend: Tally;
}

/**
 * Prometheus metrics, all in one registry. Every observe function is a few counter increments (well under a
 * microsecond each) and is fed from usage batches after they are flushed, so none of it runs on the hot path.
 */
export function createMonitorMetrics(options: MetricsOptions = {}): MonitorMetrics {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'keywarden_' });
  const cap = options.maxLabelValues ?? 200;
  const models = new LabelCap(cap);
  const endpoints = new LabelCap(64);
  const upstreams = new LabelCap(cap);
  const registers = [registry];

  const requestTallies = tallies(['endpoint', 'status']);
  const tokenTallies = tallies(['model', 'kind']);
  const spendTallies = tallies(['model']);
  new Counter({
    name: 'keywarden_requests_total',
    help: 'Requests made with a valid key, by endpoint group and status class.',
    labelNames: ['endpoint', 'status'] as const,
    registers,
    collect() {
      requestTallies.drain(this);
    },
  });
  const latency = new Histogram({
    name: 'keywarden_request_duration_seconds',
    help: 'Gateway request duration, including the upstream.',
    labelNames: ['endpoint'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  new Counter({
    name: 'keywarden_tokens_total',
    help: 'Tokens metered, by model and kind (prompt, completion, cached, reasoning).',
    labelNames: ['model', 'kind'] as const,
    registers,
    collect() {
      tokenTallies.drain(this);
    },
  });
  new Counter({
    name: 'keywarden_spend_usd_total',
    help: 'Spend in USD by model (requests with unknown prices count 0).',
    labelNames: ['model'] as const,
    registers,
    collect() {
      spendTallies.drain(this);
    },
  });
  const denials = new Counter({
    name: 'keywarden_denials_total',
    help: 'Requests refused by the gateway, by reason (wire error code).',
    labelNames: ['reason'] as const,
    registers,
  });
  const upstreamErrors = new Counter({
    name: 'keywarden_upstream_errors_total',
    help: 'Upstream failures: 5xx answers, timeouts, unreachable upstreams.',
    labelNames: ['upstream', 'code'] as const,
    registers,
  });
  const alerts = new Counter({
    name: 'keywarden_alerts_total',
    help: 'Alerts raised (after deduplication), by detector.',
    labelNames: ['detector'] as const,
    registers,
  });
  const deliveryFailures = new Counter({
    name: 'keywarden_alert_delivery_failures_total',
    help: 'Alert deliveries that failed after every retry, by sink.',
    labelNames: ['sink'] as const,
    registers,
  });
  const dropped = new Counter({
    name: 'keywarden_security_events_dropped_total',
    help: 'Security events not tracked because the per-window subject cap was reached.',
    registers,
  });

  const latencyOf = children((endpoint) => latency.labels(endpoint));
  const denialsOf = children((reason) => denials.labels(reason));
  // Per record, one map lookup by the record's own path and one by its model find every series it feeds; the
  // label strings are built only the first time a path or model is seen.
  const endpointSeries = new Map<string, EndpointSeries>();
  const endpointSeriesOf = (path: string): EndpointSeries => {
    let series = endpointSeries.get(path);
    if (series === undefined) {
      const endpoint = endpoints.of(endpointGroupOf(path));
      series = { latency: latencyOf(endpoint), byStatus: STATUS_CLASSES.map((status) => requestTallies.of(endpoint, status)) };
      if (endpointSeries.size >= SERIES_CACHE_LIMIT) endpointSeries.clear();
      endpointSeries.set(path, series);
    }
    return series;
  };
  const modelSeries = new Map<string, ModelSeries>();
  const modelSeriesOf = (name: string): ModelSeries => {
    let series = modelSeries.get(name);
    if (series === undefined) {
      const model = models.of(name);
      series = {
        prompt: tokenTallies.of(model, 'prompt'),
        completion: tokenTallies.of(model, 'completion'),
        cached: tokenTallies.of(model, 'cached'),
        reasoning: tokenTallies.of(model, 'reasoning'),
        spend: spendTallies.of(model),
      };
      if (modelSeries.size >= SERIES_CACHE_LIMIT) modelSeries.clear();
      modelSeries.set(name, series);
    }
    return series;
  };

  return {
    registry,
    observeUsage(record) {
      const endpoint = endpointSeriesOf(record.endpoint);
      (endpoint.byStatus[statusClassIndex(record.status)] as Tally).value++;
      endpoint.latency.observe(record.latencyMs / 1000);
      if (record.errorCode !== null && record.status >= 400 && record.status < 500) denialsOf(record.errorCode).inc();
      const upstreamFailed = record.status >= 500 || (record.errorCode !== null && UPSTREAM_FAILURE_CODES.has(record.errorCode));
      if (upstreamFailed) {
        upstreamErrors.inc({ upstream: upstreams.of(record.upstreamId ?? 'none'), code: record.errorCode ?? String(record.status) });
      }
      if (record.model === null || record.status >= 400) return;
      const model = modelSeriesOf(record.model);
      if (record.promptTokens) model.prompt.value += record.promptTokens;
      if (record.completionTokens) model.completion.value += record.completionTokens;
      if (record.cachedTokens) model.cached.value += record.cachedTokens;
      if (record.reasoningTokens) model.reasoning.value += record.reasoningTokens;
      if (record.costUsd) model.spend.value += record.costUsd;
    },
    observeAuthFailure(reason) {
      denialsOf(AUTH_DENIAL_CODE[reason]).inc();
    },
    alertRaised(detector) {
      alerts.inc({ detector });
    },
    deliveryFailed(sink) {
      deliveryFailures.inc({ sink });
    },
    securityEventsDropped(count) {
      dropped.inc(count);
    },
    gaugeRealtimeSessions(read) {
      new Gauge({
        name: 'keywarden_realtime_sessions',
        help: 'Realtime WebSocket sessions open now.',
        registers,
        collect() {
          this.set(read());
        },
      });
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
