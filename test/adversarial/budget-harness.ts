// Shared set-up of the adversarial budget tests: a real gateway in front of the fake upstream, whose billing
// ledger is the judge. Every test asserts what the fake billed, never what the gateway recorded.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { BillingLedger } from '../support/fake-openai-billing.js';
import { startHarness, type Harness, type HarnessOptions } from '../support/gateway-harness.js';
import { LIMITS_BACKENDS } from '../support/limits-backends.js';

export const BUDGET_USD = 0.01;

export interface BudgetBench {
  h: Harness;
  ledger: BillingLedger;
  /** A key with a $0.01/day budget and any further limits, and any further scopes (`objects_from`, …). */
  budgetKey(limits?: Record<string, unknown>, scopes?: Record<string, unknown>): Promise<{ id: string; key: string; client: OpenAI }>;
  /**
   * An unbudgeted key with every endpoint group, to create the files, conversations and vector stores a budgeted
   * key then references through its `objects_from` scope. A budgeted key cannot create them itself: those requests
   * name no priced model, so the cost bound refuses them (403 cost_not_bounded, param `model`).
   */
  objectMaker(): Promise<{ id: string; client: OpenAI }>;
  /** Asserts the upstream's bill stays within the budget, with a readable message. */
  expectBilledWithinBudget(budgetUsd?: number): void;
  /** Settled spend the gateway shows for a key (for the tests of settlement itself). */
  spentOf(id: string): Promise<number>;
  /** POSTs a raw body with the key, for what the SDK cannot express (duplicate keys). */
  rawPost(path: string, key: string, body: string): Promise<{ status: number; json: { error?: { code?: string; param?: string | null; message?: string } } }>;
}

export async function startBudgetBench(options: HarnessOptions = {}): Promise<BudgetBench> {
  const ledger = new BillingLedger();
  const h = await startHarness({ ...options, fake: { ...options.fake, billing: ledger } });
  return {
    h,
    ledger,
    async budgetKey(limits = {}, scopes = {}) {
      const created = await h.createKey({ ...scopes, limits: { budgets: [{ usd: BUDGET_USD, period: 'day' }], ...limits } });
      return { ...created, client: h.client(created.key) };
    },
    async objectMaker() {
      const created = await h.createKey({ name: 'object-maker', endpoints: ['*'] });
      return { id: created.id, client: h.client(created.key) };
    },
    expectBilledWithinBudget(budgetUsd = BUDGET_USD) {
      const billed = ledger.totalUsd();
      expect(billed, `the upstream billed $${billed.toFixed(6)} (${Math.round((billed / budgetUsd) * 100)}% of the budget) over ${ledger.entries.length} requests`).toBeLessThanOrEqual(budgetUsd + 1e-12);
    },
    async spentOf(id) {
      const res = await h.admin<{ budgets: Array<{ spent_usd: number }> }>('GET', `/keys/${id}`);
      return res.body.budgets[0]?.spent_usd ?? Number.NaN;
    },
    async rawPost(path, key, body) {
      const res = await fetch(`${h.server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
      return { status: res.status, json: (await res.json()) as { error?: { code?: string; param?: string | null; message?: string } } };
    },
  };
}

/**
 * One budget bench for a test file: started before its tests, its ledger and fake reset before each test (then
 * `eachTest` runs, e.g. to set the fake's reply), closed after them. The returned function reads it.
 */
export function useBudgetBench(eachTest?: (bench: BudgetBench) => void): () => BudgetBench {
  let started: BudgetBench | null = null;
  const bench = (): BudgetBench => {
    if (started === null) throw new Error('the budget bench has not started');
    return started;
  };
  beforeAll(async () => {
    started = await startBudgetBench();
  });
  beforeEach(() => {
    bench().ledger.reset();
    bench().h.fake.reset();
    eachTest?.(bench());
  });
  afterAll(() => started?.h.close());
  return bench;
}

/** The SDK error code of a refused request, `ok` when it succeeded. */
export async function outcomeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (err instanceof OpenAI.APIError) return `${err.status ?? 0}:${err.code ?? 'none'}`;
    throw err;
  }
}

/** Deterministic text that tokenizes badly (short random "words"): many tokens per byte. */
export function noisyText(chars: number, seed = 7): string {
  let x = seed;
  let out = '';
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  while (out.length < chars) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out += alphabet[x % alphabet.length];
    if (x % 5 === 0) out += ' ';
  }
  return out;
}

/** A reply of `words` one-token words, so an uncapped generation is long and expensive. */
export function longReply(words: number): string[] {
  return Array.from({ length: words }, (_, i) => ` w${i % 10}`);
}

/**
 * Runs `suites` once per limits backend (in-process, then a throw-away Redis), each on its own budget bench, handed
 * to `use` before the suites run: for the guarantees the limits backend enforces (shared budgets, rates, slots).
 */
export function describeBudgetBenchOnEachBackend(title: string, use: (bench: BudgetBench) => void, suites: () => void): void {
  describe.each(LIMITS_BACKENDS)(`${title} on the $name limits backend`, (backend) => {
    let bench: BudgetBench | null = null;
    let stopBackend: () => Promise<void> = () => Promise.resolve();
    beforeAll(async () => {
      const started = await backend.start();
      stopBackend = () => started.stop();
      bench = await startBudgetBench({ config: started.config });
      use(bench);
    });
    afterAll(async () => {
      await bench?.h.close();
      await stopBackend();
    });
    suites();
  });
}
