// The ack bookkeeping on its own, against a scripted live set: forged or malformed payloads change nothing, an ack
// heard before the wait counts, a stale ack (older version) does not, and a replica that leaves is not waited for.
import { describe, expect, it } from 'vitest';
import type { PgDatabase } from './pg-database.js';
import { KeyAckTracker } from './pg-key-acks.js';

const SELF = 7;

/** A database whose live-set query answers from `state` (version, live instances) each time it is asked. */
function scriptedDb(state: { version: number; live: Array<{ lock: number; name: string }> }): { db: PgDatabase; reads: () => number } {
  let reads = 0;
  const db = {
    one: (): Promise<unknown> => {
      reads++;
      return Promise.resolve({ version: String(state.version), live: [{ lock: SELF, name: 'self' }, ...state.live] });
    },
  } as unknown as PgDatabase;
  return { db, reads: () => reads };
}

describe('KeyAckTracker', () => {
  it('with no other replica, answers at once and does not wait for itself', async () => {
    const { db } = scriptedDb({ version: 5, live: [] });
    const started = performance.now();
    expect(await new KeyAckTracker(db, SELF).waitForAll(2000)).toEqual({ acknowledged: 0, live: 0, missing: [] });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('counts an ack heard before the wait began (no lost wake-up)', async () => {
    const { db } = scriptedDb({ version: 5, live: [{ lock: 11, name: 'b' }] });
    const tracker = new KeyAckTracker(db, SELF);
    tracker.heard('11:5');
    expect(await tracker.waitForAll(2000)).toEqual({ acknowledged: 1, live: 1, missing: [] });
  });

  it('wakes as soon as the missing ack arrives during the wait', async () => {
    const { db } = scriptedDb({ version: 9, live: [{ lock: 11, name: 'b' }, { lock: 12, name: 'c' }] });
    const tracker = new KeyAckTracker(db, SELF);
    tracker.heard('11:9');
    setTimeout(() => tracker.heard('12:10'), 30);
    const started = performance.now();
    expect(await tracker.waitForAll(5000)).toEqual({ acknowledged: 2, live: 2, missing: [] });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('an older version, malformed or hostile payloads do not count as an ack', async () => {
    const { db } = scriptedDb({ version: 9, live: [{ lock: 11, name: 'keywarden host pid 1' }] });
    const tracker = new KeyAckTracker(db, SELF);
    for (const payload of ['11:8', '11', ':9', '11:', '11:9:9', '11:-9', ' 11:9', '11:9 ', '11:9e3', '0x0b:9', 'x'.repeat(100_000), '11:99999999999999999999', '']) {
      tracker.heard(payload);
    }
    const result = await tracker.waitForAll(250);
    expect(result).toEqual({ acknowledged: 0, live: 1, missing: ['keywarden host pid 1'] });
  });

  it('a replica that leaves during the wait (its lock released) stops being waited for', async () => {
    const state = { version: 3, live: [{ lock: 11, name: 'b' }] };
    const { db, reads } = scriptedDb(state);
    const tracker = new KeyAckTracker(db, SELF);
    setTimeout(() => (state.live = []), 50);
    const started = performance.now();
    expect(await tracker.waitForAll(5000)).toEqual({ acknowledged: 0, live: 0, missing: [] });
    expect(performance.now() - started).toBeLessThan(1500);
    expect(reads()).toBeGreaterThanOrEqual(2);
  });

  it('names a replica without an application name by its lock number', async () => {
    const { db } = scriptedDb({ version: 1, live: [{ lock: 42, name: '' }] });
    expect((await new KeyAckTracker(db, SELF).waitForAll(0)).missing).toEqual(['instance 42']);
  });
});
