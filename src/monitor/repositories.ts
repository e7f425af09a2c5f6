/** Storage interfaces of monitor/. SQLite implementations live in store/sqlite/; callers depend only on these. */
import type { AlertRecord, DeliveryRecord, DeliveryStatus, DetectorName } from './types.js';

export type Granularity = 'minute' | 'hour' | 'day';
export type RollupDim = 'all' | 'key' | 'model' | 'upstream';

export interface RollupCounters {
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costUsd: number;
  unpriced: number;
  latencySumMs: number;
  latencyMaxMs: number;
}

/** Additions to one minute bucket of one dimension value. */
export interface MinuteDelta extends RollupCounters {
  minuteStart: number;
  dim: RollupDim;
  dimValue: string;
}

export interface RollupRow extends RollupCounters {
  granularity: Granularity;
  bucketStart: number;
  dim: RollupDim;
  dimValue: string;
  /** Largest single-minute request count / cost inside the bucket (the spike baselines learn from these). */
  peakMinuteRequests: number;
  peakMinuteCost: number;
}

export interface RollupQuery {
  granularity: Granularity;
  dim: RollupDim;
  dimValue?: string;
  /** Only these values (a page of keys): read by the primary key, not the whole dimension. Ignored with dimValue. */
  dimValues?: readonly string[];
  since?: number;
  until?: number;
}

export interface RollupTotal extends RollupCounters {
  dimValue: string;
}

export interface RollupRepository {
  /** Adds minute deltas and folds them into the hour and day buckets, keeping each bucket's peak minute. */
  apply(deltas: readonly MinuteDelta[]): Promise<void>;
  /** Buckets in time order. */
  series(query: RollupQuery): Promise<RollupRow[]>;
  /** Sums over the time range, one row per dimension value. */
  totals(query: RollupQuery): Promise<RollupTotal[]>;
  /** Start of the first day bucket of a dimension value, or null if it was never seen. */
  firstActivity(dim: RollupDim, dimValue: string): Promise<number | null>;
  /** Deletes buckets of one granularity that start before `before`. Returns how many. */
  prune(granularity: Granularity, before: number): Promise<number>;
}

export interface AlertQuery {
  since?: number;
  until?: number;
  detector?: DetectorName;
  keyId?: string;
  acknowledged?: boolean;
  limit: number;
}

export interface AlertRepository {
  insert(alert: AlertRecord): Promise<void>;
  /** The newest alert for (detector, subject) created at or after `since`: the dedup lookup. */
  findRecent(detector: DetectorName, subject: string, since: number): Promise<AlertRecord | null>;
  /**
   * Runs `fn` (the dedup lookup and the insert of one raise) alone for this (detector, subject) across every replica
   * sharing the store, so two replicas that see the same thing at once raise one alert. Absent: one process.
   */
  exclusive?<T>(detector: DetectorName, subject: string, fn: () => Promise<T>): Promise<T>;
  /** Counts a repeat folded into an existing alert. */
  recordRepeat(id: string, ts: number): Promise<void>;
  setSuspended(id: string, suspended: boolean): Promise<void>;
  get(id: string): Promise<AlertRecord | null>;
  /** Newest first. */
  list(query: AlertQuery): Promise<AlertRecord[]>;
  acknowledge(id: string, by: string, ts: number): Promise<AlertRecord | null>;
  insertDelivery(delivery: DeliveryRecord): Promise<void>;
  updateDelivery(id: string, patch: Pick<DeliveryRecord, 'status' | 'attempts' | 'lastError' | 'updatedAt'>): Promise<void>;
  listDeliveries(query: { alertId?: string; status?: DeliveryStatus; limit: number }): Promise<DeliveryRecord[]>;
}

export type SeenKind = 'model' | 'network';

export interface SeenObservation {
  keyId: string;
  kind: SeenKind;
  value: string;
  firstTs: number;
  lastTs: number;
}

export interface SeenResult<T extends SeenObservation = SeenObservation> {
  /** Observations whose (key, kind, value) was not known before. */
  fresh: T[];
  /** For each key in the batch that had history before it: when it was first seen. */
  keyFirstSeen: Map<string, number>;
}

export interface SeenRepository {
  observe<T extends SeenObservation>(observations: readonly T[]): Promise<SeenResult<T>>;
  /** Last time each key was seen in use. */
  lastUsed(): Promise<Map<string, number>>;
  /** When monitoring first saw any use at all (null before that): "unused" can only be judged since then. */
  epoch(): Promise<number | null>;
}
