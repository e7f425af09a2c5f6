/**
 * Which replica runs a job that must run once for the whole deployment (the monitor's store-wide detectors, alert
 * delivery, retention, scheduled rotation). One process on SQLite is always the leader (the data-dir lock already
 * keeps a second process out); replicas on PostgreSQL hold a session advisory lock (see pg-leader-lease.ts).
 */
export interface LeaderLease {
  /** True while this process holds the lease; checked at the start of each leader-only step. */
  readonly isLeader: boolean;
  start(): Promise<void>;
  /** Gives the lease up at once, so another replica can take over on its next beat. */
  stop(): Promise<void>;
}

/** The lease of a deployment with one process. */
export const SOLE_LEADER: LeaderLease = {
  isLeader: true,
  start: () => Promise.resolve(),
  stop: () => Promise.resolve(),
};
