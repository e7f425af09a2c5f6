// The limits fast path (issue 14): once a key's spend is in memory, acquire decides without awaiting, and keys
// without limits skip admission altogether. Neither may change a decision: a budget or a rate near exhaustion
// refuses exactly as before, and concurrent requests still cannot pass a budget together.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { PriceTable } from '../pricing/index.js';
import { SqliteStore } from '../store/index.js';
import type { VirtualKeyRecord } from '../store/index.js';
import type { AcquireRequest, LimitsBackend } from './backend.js';
import { Limiter, type AdmitInput } from './limiter.js';
import { MemoryLimitsBackend } from './memory-backend.js';

const PERIOD = 'day:2026-11-30';
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

function openStore(): SqliteStore {
  const store = SqliteStore.open(mkdtempSync(path.join(tmpdir(), 'kw-fast-')));
  stores.push(store);
  return store;
}

const budgetRequest = (reserveUsd: number, limitUsd: number, rpm?: number): AcquireRequest => ({
  keyId: 'key_fast',
  now: 1_000,
  rates: rpm === undefined ? [] : [{ id: 'rpm', limit: rpm, periodMs: 60_000 }],
  tokens: [],
  concurrency: null,
  budgets: [{ periodKey: PERIOD, limitUsd }],
  reserveUsd,
});

function key(limits: Record<string, unknown>, extra: Partial<VirtualKeyRecord> = {}): VirtualKeyRecord {
  return {
    id: 'key_fast',
    name: 'fast',
    hash: 'h',
    last4: 'abcd',
    previousHash: null,
    previousHashExpiresAt: null,
    upstreamId: null,
    fallbackUpstreamIds: [],
    scopes: { models: [], endpoints: [], ipAllowlist: [], maxBodyBytes: null },
    limits,
    metadata: {},
    createdAt: 1,
    updatedAt: 1,
    expiresAt: null,
    revokedAt: null,
    suspendedAt: null,
    suspendedReason: null,
    rotatedAt: null,
    ...extra,
  };
}

const admitInput = (k: VirtualKeyRecord, extra: Partial<AdmitInput> = {}): AdmitInput => ({
  key: k,
  path: '/v1/chat/completions',
  model: 'gpt-4o-mini',
  json: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 },
  bodyBytes: 80,
  now: 1_000,
  ...extra,
});

describe('memory backend with spend already in memory', () => {
  it('refuses the request that would pass the budget, to the cent, after warm requests', async () => {
    const backend = new MemoryLimitsBackend(openStore().spend);
    // The first acquire loads the key's spend from the ledger; the following ones take the in-memory path.
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await backend.acquire(budgetRequest(0.1, 1)));
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(results.slice(10).every((r) => !r.ok && r.refusal.reason === 'budget')).toBe(true);
    expect(await backend.budgetRemaining('key_fast', budgetRequest(0, 1).budgets)).toBeCloseTo(0, 9);
  });

  it('admits no more than the budget when 500 acquires race, warm or cold', async () => {
    for (const warm of [false, true]) {
      const backend = new MemoryLimitsBackend(openStore().spend);
      if (warm) {
        const first = await backend.acquire(budgetRequest(0, 5));
        if (first.ok) await backend.settle(first.ticket, { costUsd: 0, tokensUsed: 0 }, 1_000);
      }
      const results = await Promise.all(Array.from({ length: 500 }, async () => backend.acquire(budgetRequest(0.01, 5))));
      // 500 × $0.01 = $5 fits exactly; the next cent does not.
      expect(results.filter((r) => r.ok)).toHaveLength(500);
      const over = await backend.acquire(budgetRequest(0.01, 5));
      expect(over.ok).toBe(false);
    }
  });

  it('keeps spend settled before a restart: a fresh backend over the same ledger refuses the same way', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kw-fast-'));
    const first = SqliteStore.open(dir);
    const backend = new MemoryLimitsBackend(first.spend);
    for (let i = 0; i < 3; i++) {
      const r = await backend.acquire(budgetRequest(0.3, 1));
      expect(r.ok).toBe(true);
      if (r.ok) await backend.settle(r.ticket, { costUsd: 0.3, tokensUsed: 0 }, 1_000);
    }
    first.spend.flushSettlements();
    await first.close();
    const second = SqliteStore.open(dir);
    stores.push(second);
    const again = new MemoryLimitsBackend(second.spend);
    const refused = await again.acquire(budgetRequest(0.3, 1));
    expect(refused.ok).toBe(false);
    const fits = await again.acquire(budgetRequest(0.1, 1));
    expect(fits.ok).toBe(true);
  });

  it('refuses on the rate exactly at the limit with spend in memory', async () => {
    const backend = new MemoryLimitsBackend(openStore().spend);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await backend.acquire(budgetRequest(0, 100, 5)));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true, false]);
    const last = results[5];
    expect(last && !last.ok ? last.refusal.reason : null).toBe('rate');
  });
});

describe('Limiter.needsAdmission', () => {
  const prices = new PriceTable();

  it('is false only for a key with nothing to count, and then admit() agrees', async () => {
    const limiter = new Limiter(new MemoryLimitsBackend(openStore().spend), prices);
    const plain = key({});
    expect(limiter.needsAdmission(admitInput(plain))).toBe(false);
    expect(await limiter.admit(admitInput(plain))).toBeNull();
  });

  it('is true for a key with limits, a key in a project with limits, and a child key', () => {
    const limiter = new Limiter(new MemoryLimitsBackend(openStore().spend), prices);
    expect(limiter.needsAdmission(admitInput(key({ rpm: 10 })))).toBe(true);
    expect(limiter.needsAdmission(admitInput(key({ budgets: [{ usd: 1, period: 'day' }] })))).toBe(true);
    const project = { id: 'prj_1', name: 'p', empty: false, limits: { rpm: 5 }, models: null } as unknown as NonNullable<AdmitInput['project']>;
    expect(limiter.needsAdmission(admitInput(key({}), { project }))).toBe(true);
    expect(limiter.needsAdmission(admitInput(key({}, { parentId: 'key_parent' }), { parent: key({ budgets: [{ usd: 1, period: 'day' }] }) }))).toBe(true);
  });

  it('fails closed for a key without limits while the backend is down, as admit() does', async () => {
    const backend = new MemoryLimitsBackend(openStore().spend) as LimitsBackend;
    const down = Object.assign(Object.create(backend) as LimitsBackend, { available: () => false });
    const limiter = new Limiter(down, prices, { failOpen: false });
    const plain = key({});
    expect(() => limiter.needsAdmission(admitInput(plain))).toThrow(KeywardenError);
    await expect(limiter.admit(admitInput(plain))).rejects.toMatchObject({ code: 'KW_LIMITS_UNAVAILABLE' });
    const open = new Limiter(down, prices, { failOpen: true });
    expect(open.needsAdmission(admitInput(plain))).toBe(false);
  });

  it('still refuses a limited key at its budget through the full admit path', async () => {
    const limiter = new Limiter(new MemoryLimitsBackend(openStore().spend), prices);
    // A budget far too small for even one 10-token answer of gpt-4o-mini.
    const tiny = key({ budgets: [{ usd: 0.000001, period: 'day' }] });
    expect(limiter.needsAdmission(admitInput(tiny))).toBe(true);
    await expect(limiter.admit(admitInput(tiny))).rejects.toMatchObject({ code: 'KW_BUDGET_EXCEEDED' });
  });
});

describe('streamed text is collected only when settlement reads it', () => {
  const prices = new PriceTable();
  const cutStream = (streamedText: string) => ({ status: 200, tokens: null, streamedText, incomplete: true, abandoned: false });

  it('not for a priced budget reservation: a stream cut before its usage is charged the reservation, text or not', async () => {
    const limiter = new Limiter(new MemoryLimitsBackend(openStore().spend), prices);
    const admission = await limiter.admit(admitInput(key({ tpm: 100_000, budgets: [{ usd: 10, period: 'day' }] }), { json: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, stream: true } }));
    if (!admission) throw new Error('not admitted');
    expect(admission.ticket.reservedUsd).toBeGreaterThan(0);
    expect(admission.trackStreamText).toBe(false);
    const settled = await limiter.settle(admission, cutStream(''), 2_000);
    expect(settled.costUsd).toBe(admission.ticket.reservedUsd);
    expect(settled.estimated).toBe(true);
  });

  it('for token limits without a priced reservation: the cut stream is counted from its text', async () => {
    for (const [limits, extra] of [
      [{ tpm: 100_000 }, {}],
      [{ budgets: [{ usd: 10, period: 'day' }] }, { costFree: true }],
    ] as const) {
      const limiter = new Limiter(new MemoryLimitsBackend(openStore().spend), prices);
      const admission = await limiter.admit(admitInput(key(limits), extra));
      if (!admission) throw new Error('not admitted');
      expect(admission.ticket.reservedUsd).toBe(0);
      expect(admission.trackStreamText).toBe(true);
      const settled = await limiter.settle(admission, cutStream('one two three four five six seven'), 2_000);
      expect(settled.tokens?.completionTokens).toBeGreaterThan(0);
    }
  });
});
