// The Redis backend sends the limits operations of one event-loop turn as one script call (batch-script.ts) and
// sizes injected caps from hints instead of a read per admission (spend-hints.ts). Attacked here: bursts larger
// than a batch, replies matched to the wrong caller, malformed batches, and a stale hint trying to overrun a budget.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcquireRequest, AcquireResult } from '../../src/limits/backend.js';
import { BATCH_LUA, FIELD_SEPARATOR, MAX_BATCH_OPS } from '../../src/limits/redis/batch-script.js';
import { startCluster, type Cluster } from './redis-cluster.js';

let c: Cluster;
beforeAll(async () => {
  c = await startCluster({ replicas: 1 });
  // Script calls are counted on the server: the harness replica's heartbeat must not add its own meanwhile.
  c.replicas[0]!.backend.stop();
  // Loads the batch script (a first EVALSHA answers NOSCRIPT and is sent again as EVAL).
  const { backend } = await c.extraBackend();
  await backend.inflight('key_warmup');
}, 60_000);
afterAll(() => c.close(), 30_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function request(keyId: string, overrides: Partial<AcquireRequest> = {}): AcquireRequest {
  return { keyId, now: Date.now(), rates: [], tokens: [], concurrency: null, budgets: [], reserveUsd: 0, ...overrides };
}

function admitted(results: readonly AcquireResult[]): number {
  return results.filter((r) => r.ok).length;
}

describe('limits operations batched per event-loop turn', () => {
  it('admits exactly the concurrency limit out of a burst four batches long, in ceil(n / MAX_BATCH_OPS) script calls', async () => {
    const { backend } = await c.extraBackend();
    const keyId = `key_${randomUUID()}`;
    const n = MAX_BATCH_OPS * 3 + 8;
    const before = await c.redis.scriptCalls();
    const results = await Promise.all(Array.from({ length: n }, () => backend.acquire(request(keyId, { concurrency: 50 }))));
    expect(await c.redis.scriptCalls()).toBe(before + Math.ceil(n / MAX_BATCH_OPS));
    expect(admitted(results)).toBe(50);
    expect(results.filter((r) => !r.ok && r.refusal.reason === 'concurrency')).toHaveLength(n - 50);
    expect(await backend.inflight(keyId)).toBe(50);
  });

  it("hands every caller its own reply across batch boundaries (each key's rpm comes back in its own snapshot)", async () => {
    const { backend } = await c.extraBackend();
    const n = MAX_BATCH_OPS * 2 + 5;
    const keys = Array.from({ length: n }, (_, i) => ({ keyId: `key_${randomUUID()}`, rpm: i + 1 }));
    const first = await Promise.all(keys.map((k) => backend.acquire(request(k.keyId, { rates: [{ id: 'rpm', limit: k.rpm, periodMs: 60_000 }] }))));
    first.forEach((result, i) => {
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.requests?.limit).toBe(i + 1);
    });
    // Only the key with rpm = 1 is now out of requests: the refusal lands on that caller and no other.
    const second = await Promise.all(keys.map((k) => backend.acquire(request(k.keyId, { rates: [{ id: 'rpm', limit: k.rpm, periodMs: 60_000 }] }))));
    expect(second.map((r) => r.ok)).toEqual(keys.map((k) => k.rpm > 1));
  });

  it('never admits past a budget when two replicas burst at it together, batches on both sides', async () => {
    const a = (await c.extraBackend()).backend;
    const b = (await c.extraBackend()).backend;
    const { id } = await c.h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    const budgets = [{ periodKey: 'day:2031-01-01', limitUsd: 1 }];
    // 0.13 fits 7 times into $1 (0.91), not 8 (1.04).
    const burst = (backend: typeof a): Array<Promise<AcquireResult>> =>
      Array.from({ length: 40 }, () => backend.acquire(request(id, { budgets, reserveUsd: 0.13 })));
    const results = await Promise.all([...burst(a), ...burst(b)]);
    expect(admitted(results)).toBe(7);
    expect(await a.budgetRemaining(id, budgets)).toBeCloseTo(1 - 7 * 0.13, 9);
  });

  it('refuses a malformed batch outright (unknown operation, missing separator) and runs none of it', async () => {
    const prefix = `kwbad${randomUUID().slice(0, 8)}:`;
    const keysBefore = await c.redis.command('DBSIZE');
    const unknownOp = await c.redis.command('EVAL', BATCH_LUA, '0', prefix, `9${FIELD_SEPARATOR}x`);
    expect(unknownOp).toMatch(/^-.*malformed batch/);
    const noSeparator = await c.redis.command('EVAL', BATCH_LUA, '0', prefix, '4key_x');
    expect(noSeparator).toMatch(/^-.*malformed batch/);
    const empty = await c.redis.command('EVAL', BATCH_LUA, '0', prefix, '');
    expect(empty).toMatch(/^-.*malformed batch/);
    expect(await c.redis.command('DBSIZE')).toBe(keysBefore);
  });

  it('refuses an id carrying the field separator instead of letting it shift the fields after it (503, nothing written)', async () => {
    const { backend } = await c.extraBackend();
    const keysBefore = await c.redis.command('DBSIZE');
    // Shifted by one field, this key id would turn "1" into the concurrency limit of another owner.
    const hostile = request(`key_x${FIELD_SEPARATOR}1`, { concurrency: 1 });
    await expect(backend.acquire(hostile)).rejects.toMatchObject({ code: 'KW_LIMITS_UNAVAILABLE' });
    await sleep(20);
    expect(await c.redis.command('DBSIZE')).toBe(keysBefore);
  });
});

describe('cap sizing from hints instead of a read per admission', () => {
  const budgets = [{ periodKey: 'day:2031-02-01', limitUsd: 1 }];

  it('answers budgetRemaining for a busy key without a round trip, and follows its own settlements exactly', async () => {
    const { backend } = await c.extraBackend();
    const { id } = await c.h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    const first = await backend.acquire(request(id, { budgets, reserveUsd: 0.3 }));
    if (!first.ok) throw new Error('refused');
    const before = await c.redis.scriptCalls();
    expect(await backend.budgetRemaining(id, budgets)).toBeCloseTo(0.7, 12);
    expect(await c.redis.scriptCalls()).toBe(before);
    // The settlement is queued, not answered yet: the hint already counts it (cost 0.1 instead of 0.3 reserved).
    await backend.settle(first.ticket, { costUsd: 0.1, tokensUsed: 0 }, Date.now());
    expect(await backend.budgetRemaining(id, budgets)).toBeCloseTo(0.9, 12);
    await backend.flush();
    // Once the hint is too old, Redis is read again, and says the same.
    await sleep(150);
    const beforeRead = await c.redis.scriptCalls();
    expect(await backend.budgetRemaining(id, budgets)).toBeCloseTo(0.9, 12);
    expect(await c.redis.scriptCalls()).toBe(beforeRead + 1);
  });

  it("a stale hint cannot overrun the budget: the admission itself is checked in Redis, another replica's spend included", async () => {
    const a = (await c.extraBackend()).backend;
    const b = (await c.extraBackend()).backend;
    const { id } = await c.h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    const small = await a.acquire(request(id, { budgets, reserveUsd: 0.1 }));
    expect(small.ok).toBe(true);
    // B takes almost everything that is left; A's hint has not seen it.
    const large = await b.acquire(request(id, { budgets, reserveUsd: 0.85 }));
    expect(large.ok).toBe(true);
    // A's hint (0.9 left) has not seen B's spend, unless the machine was slow enough for it to age out (0.05 left).
    const seen = await a.budgetRemaining(id, budgets);
    expect(Math.min(Math.abs(seen - 0.9), Math.abs(seen - 0.05))).toBeLessThan(1e-9);
    // Sized from the stale hint, A asks for 0.5: Redis refuses, and A's next look is a fresh read.
    const overrun = await a.acquire(request(id, { budgets, reserveUsd: 0.5 }));
    expect(overrun.ok).toBe(false);
    if (!overrun.ok) expect(overrun.refusal.reason).toBe('budget');
    expect(await a.budgetRemaining(id, budgets)).toBeCloseTo(0.05, 12);
  });

  it('forgets what it saw once Redis lost its state, and reads the rebuilt spend instead', async () => {
    const { backend } = await c.extraBackend();
    const { id } = await c.h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    const period = 'day:2031-03-01';
    const own = [{ periodKey: period, limitUsd: 1 }];
    const first = await backend.acquire(request(id, { budgets: own, reserveUsd: 0.4 }));
    if (!first.ok) throw new Error('refused');
    await backend.settle(first.ticket, { costUsd: 0.4, tokensUsed: 0 }, Date.now());
    await backend.flush();
    await c.h.server.services.store.flushSpend();
    expect(await backend.budgetRemaining(id, own)).toBeCloseTo(0.6, 12);
    // Redis forgets everything; the ledger still has the 0.4.
    expect(await c.redis.command('FLUSHALL')).toBe('+OK\r\n');
    const again = await backend.acquire(request(id, { budgets: own, reserveUsd: 0.5 }));
    expect(again.ok).toBe(true);
    expect(await backend.budgetRemaining(id, own)).toBeCloseTo(0.1, 12);
    const over = await backend.acquire(request(id, { budgets: own, reserveUsd: 0.2 }));
    expect(over.ok).toBe(false);
  }, 15_000);
});
