import { ERROR_CODES } from '../errors/codes.js';
import type { UsageRecord } from '../store/index.js';
import { addCounters, emptyCounters } from './counters.js';
import { networkOf } from './net.js';
import type { MinuteDelta, RollupCounters, RollupDim, SeenObservation } from './repositories.js';

const MINUTE = 60_000;
/** The wire code usage records carry for a budget refusal. */
const BUDGET_EXCEEDED: string = ERROR_CODES.KW_BUDGET_EXCEEDED.apiCode;

/** Per key, what arrived since the last evaluation: the spike detectors' "current" value. */
export interface WindowCounts {
  requests: number;
  costUsd: number;
}

export type Observation = SeenObservation & { sample: string };

export interface IntakeBatch {
  deltas: MinuteDelta[];
  seen: Observation[];
  window: Map<string, WindowCounts>;
  /** Keys that had a request refused with budget_exceeded since the last evaluation. */
  budgetRefused: Set<string>;
}

/**
 * A request that reached the upstream (or failed there). Denials by the gateway itself carry an errorCode with a
 * status below 500; they say nothing about how the key is normally used, so they do not feed baselines.
 */
export function countsAsUse(record: UsageRecord): boolean {
  return record.errorCode === null || record.status >= 500;
}

/** Everything about one (minute, key, model, upstream, client IP) combination. */
interface Bucket extends RollupCounters {
  minuteStart: number;
  keyId: string;
  model: string | null;
  upstreamId: string | null;
  clientIp: string;
  useRequests: number;
  useCost: number;
  useFirst: number;
  useLast: number;
  /** Requests the upstream accepted: only these teach the key a model. */
  modelFirst: number;
  modelLast: number;
}

/**
 * Aggregates usage records in memory as they are flushed. Per record it is one map update, because this runs on
 * the gateway's thread; the fan-out into rollup dimensions, networks and per-key windows happens once per distinct
 * bucket in `drain`, at evaluation time. Memory is bounded by distinct buckets, not by traffic.
 */
export class UsageIntake {
  private buckets = new Map<string, Bucket>();
  private retryDeltas: MinuteDelta[] = [];
  private retrySeen: Observation[] = [];
  private budgetRefused = new Set<string>();
  /** The bucket the last record went to (null after a drain: it belongs to the drained map). */
  private last: Bucket | null = null;

  add(record: UsageRecord): void {
    if (record.errorCode === BUDGET_EXCEEDED) this.budgetRefused.add(record.keyId);
    const minuteStart = record.ts - (record.ts % MINUTE);
    let bucket = this.last;
    // Records of one batch mostly repeat the previous one's bucket (a busy key, from one address, one model): that
    // is five comparisons, where finding the bucket by its id would build and hash a string per record.
    if (
      bucket === null ||
      bucket.minuteStart !== minuteStart ||
      bucket.keyId !== record.keyId ||
      bucket.model !== record.model ||
      bucket.upstreamId !== record.upstreamId ||
      bucket.clientIp !== record.clientIp
    ) {
      bucket = this.bucketOf(record, minuteStart);
      this.last = bucket;
    }
    bucket.requests++;
    if (record.status >= 400 || record.status === 0) bucket.errors++;
    bucket.promptTokens += record.promptTokens;
    bucket.completionTokens += record.completionTokens;
    bucket.cachedTokens += record.cachedTokens;
    bucket.reasoningTokens += record.reasoningTokens;
    bucket.costUsd += record.costUsd ?? 0;
    if (record.priceMissing) bucket.unpriced++;
    bucket.latencySumMs += record.latencyMs;
    if (record.latencyMs > bucket.latencyMaxMs) bucket.latencyMaxMs = record.latencyMs;
    if (!countsAsUse(record)) return;
    bucket.useRequests++;
    bucket.useCost += record.costUsd ?? 0;
    if (record.ts < bucket.useFirst) bucket.useFirst = record.ts;
    if (record.ts > bucket.useLast) bucket.useLast = record.ts;
    if (record.status < 200 || record.status >= 400) return;
    if (record.ts < bucket.modelFirst) bucket.modelFirst = record.ts;
    if (record.ts > bucket.modelLast) bucket.modelLast = record.ts;
  }

  /** The bucket of the record's (minute, key, model, upstream, client IP), created on first use. */
  private bucketOf(record: UsageRecord, minuteStart: number): Bucket {
    const id = `${minuteStart}\n${record.keyId}\n${record.model}\n${record.upstreamId}\n${record.clientIp}`;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      // A literal, not a spread: this allocation is on the per-request path whenever a bucket is new.
      bucket = {
        requests: 0,
        errors: 0,
        promptTokens: 0,
        completionTokens: 0,
        cachedTokens: 0,
        reasoningTokens: 0,
        costUsd: 0,
        unpriced: 0,
        latencySumMs: 0,
        latencyMaxMs: 0,
        minuteStart,
        keyId: record.keyId,
        model: record.model,
        upstreamId: record.upstreamId,
        clientIp: record.clientIp,
        useRequests: 0,
        useCost: 0,
        useFirst: Infinity,
        useLast: -Infinity,
        modelFirst: Infinity,
        modelLast: -Infinity,
      };
      this.buckets.set(id, bucket);
    }
    return bucket;
  }

  /** Takes everything gathered so far (plus anything restored after a failed write). */
  drain(): IntakeBatch {
    const buckets = this.buckets;
    this.buckets = new Map();
    this.last = null;
    const budgetRefused = this.budgetRefused;
    this.budgetRefused = new Set();
    const deltas = new Map<string, MinuteDelta>();
    const seen = new Map<string, Observation>();
    const window = new Map<string, WindowCounts>();
    const networks = new Map<string, string | null>();
    for (const delta of this.retryDeltas) mergeDelta(deltas, delta.minuteStart, delta.dim, delta.dimValue, delta);
    for (const obs of this.retrySeen) mergeSeen(seen, obs);
    this.retryDeltas = [];
    this.retrySeen = [];

    const dims: Array<[RollupDim, (b: Bucket) => string]> = [
      ['all', () => '*'],
      ['key', (b) => b.keyId],
      ['model', (b) => b.model ?? '(none)'],
      ['upstream', (b) => b.upstreamId ?? '(none)'],
    ];
    for (const b of buckets.values()) {
      for (const [dim, valueOf] of dims) mergeDelta(deltas, b.minuteStart, dim, valueOf(b), b);
      if (b.useRequests === 0) continue;
      const counts = window.get(b.keyId) ?? { requests: 0, costUsd: 0 };
      counts.requests += b.useRequests;
      counts.costUsd += b.useCost;
      window.set(b.keyId, counts);
      if (b.model !== null && b.modelFirst !== Infinity) {
        mergeSeen(seen, { keyId: b.keyId, kind: 'model', value: b.model, firstTs: b.modelFirst, lastTs: b.modelLast, sample: b.model });
      }
      if (!networks.has(b.clientIp)) networks.set(b.clientIp, networkOf(b.clientIp));
      const network = networks.get(b.clientIp);
      if (network) mergeSeen(seen, { keyId: b.keyId, kind: 'network', value: network, firstTs: b.useFirst, lastTs: b.useLast, sample: b.clientIp });
    }
    return { deltas: [...deltas.values()], seen: [...seen.values()], window, budgetRefused };
  }

  /** Hands back rollups and observations whose write failed; the next drain includes them again. */
  restore(batch: Pick<IntakeBatch, 'deltas' | 'seen'>): void {
    this.retryDeltas.push(...batch.deltas);
    this.retrySeen.push(...batch.seen);
  }
}

/** Adds `counters` into the delta for (minute, dim, value), allocating only when the delta is new. */
function mergeDelta(into: Map<string, MinuteDelta>, minuteStart: number, dim: RollupDim, dimValue: string, counters: RollupCounters): void {
  const id = `${minuteStart}\n${dim}\n${dimValue}`;
  let delta = into.get(id);
  if (!delta) {
    delta = { minuteStart, dim, dimValue, ...emptyCounters() };
    into.set(id, delta);
  }
  addCounters(delta, counters);
}

function mergeSeen(into: Map<string, Observation>, obs: Observation): void {
  const id = `${obs.keyId}\n${obs.kind}\n${obs.value}`;
  const current = into.get(id);
  if (!current) into.set(id, { ...obs });
  else {
    current.firstTs = Math.min(current.firstTs, obs.firstTs);
    current.lastTs = Math.max(current.lastTs, obs.lastTs);
  }
}
