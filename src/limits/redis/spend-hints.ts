/** Hints older than this are not used: the next budgetRemaining reads Redis again. */
export const HINT_FRESH_MS = 100;
/** Past this many (owner, period) hints the map starts over (a bound on memory, not a cache policy). */
const MAX_HINTS = 10_000;
/** Past this many unconfirmed local changes a hint is dropped rather than carried (nothing confirms it any more). */
const MAX_PENDING = 256;

interface Hint {
  /** Spent + reserved USD as of the Redis operation `seq`. */
  used: number;
  seq: number;
  at: number;
  /** This replica's settlements queued after `seq` that Redis has not confirmed yet: (their seq, change in used). */
  pending: Array<{ seq: number; delta: number }>;
}

/**
 * What this replica last saw of each budget's spent + reserved USD (per owner and period key), so that sizing an
 * injected output cap (`budgetRemaining`) does not cost a Redis round trip before every admission of a busy key.
 *
 * Only a hint: the admission itself (ACQUIRE) checks the budget atomically in Redis, so a hint can never let a
 * budget overrun; it only decides how large a cap is asked for, exactly as a separate read did before (which could
 * equally be overtaken by another replica's spend before the admission ran). It is refreshed by every admission's
 * reply, used only while younger than HINT_FRESH_MS, and carries this replica's own settlements queued since.
 *
 * Ordering: operations go to Redis on one connection in the order they are numbered (`seq`) and run in that
 * order, so a reply of operation n reflects every operation before n. A reply older than the hint is ignored; a
 * local change is counted until a reply of a later operation (which includes it) replaces the hint.
 */
export class SpendHints {
  /** owner → period key → hint. Two levels rather than one joined key: no string is built per lookup. */
  private readonly hints = new Map<string, Map<string, Hint>>();
  private size = 0;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Spent + reserved as reported by Redis for operation `seq`. */
  record(owner: string, periodKey: string, used: number, seq: number): void {
    if (!Number.isFinite(used)) return;
    const hint = this.hints.get(owner)?.get(periodKey);
    if (hint) {
      if (hint.seq > seq) return;
      hint.used = used;
      hint.seq = seq;
      hint.at = this.clock();
      if (hint.pending.length > 0) dropConfirmed(hint.pending, seq);
      return;
    }
    if (this.size >= MAX_HINTS) this.clear();
    let periods = this.hints.get(owner);
    if (!periods) this.hints.set(owner, (periods = new Map<string, Hint>()));
    periods.set(periodKey, { used, seq, at: this.clock(), pending: [] });
    this.size++;
  }

  /** This replica queued operation `seq` that changes spent + reserved by `delta` (a settlement: cost − reservation). */
  adjust(owner: string, periodKey: string, delta: number, seq: number): void {
    const hint = this.hints.get(owner)?.get(periodKey);
    if (!hint || !Number.isFinite(delta)) return;
    if (hint.pending.length >= MAX_PENDING) this.forget(owner, periodKey);
    else hint.pending.push({ seq, delta });
  }

  /** Spent + reserved, if a fresh hint exists. */
  used(owner: string, periodKey: string): number | undefined {
    const hint = this.hints.get(owner)?.get(periodKey);
    if (!hint || this.clock() - hint.at > HINT_FRESH_MS) return undefined;
    let used = hint.used;
    for (const p of hint.pending) used += p.delta;
    return used;
  }

  /** Forgets an owner's period (a refusal, a failed settlement: read Redis next time). */
  forget(owner: string, periodKey: string): void {
    const periods = this.hints.get(owner);
    if (!periods?.delete(periodKey)) return;
    this.size--;
    if (periods.size === 0) this.hints.delete(owner);
  }

  clear(): void {
    this.hints.clear();
    this.size = 0;
  }
}

/** Removes, in place, the local changes that operation `seq`'s reply already includes (those queued before it). */
function dropConfirmed(pending: Hint['pending'], seq: number): void {
  let kept = 0;
  for (const p of pending) if (p.seq > seq) pending[kept++] = p;
  pending.length = kept;
}
