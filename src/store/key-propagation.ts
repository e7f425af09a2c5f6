/** What an admin key change saw after its commit: which other live replicas confirmed they dropped the old key. */
export interface KeyPropagation {
  /** Other live replicas that confirmed. */
  acknowledged: number;
  /** Other live replicas when the wait ended (this one not counted). */
  live: number;
  /** Replicas that did not confirm in time (their application_name); they still catch up by the version check. */
  missing: string[];
}

/** A store shared by several replicas can wait for a key change to reach all of them (PostgreSQL); SQLite cannot need to. */
export interface KeyPropagationWaiter {
  awaitKeyPropagation(): Promise<KeyPropagation>;
}
