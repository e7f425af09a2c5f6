// The limits fast path (issue 14): a limited key is admitted and settled synchronously, from a plan compiled once
// per key version. None of that may move an edge: these suites drive a key shaped like the benchmark's (rates,
// tokens, concurrency, output cap, day and month budgets) through the SDK to exactly its budget, its rpm and its
// concurrency, and change its limits through the admin API between requests (the next request must obey them).
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import type { Harness } from '../support/gateway-harness.js';
import { describeEachLimitsBackend } from '../support/limits-backends.js';
import { waitFor } from '../support/wait-for.js';

let h: Harness;
afterEach(() => h.fake.reset());

// gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output.
const IN = 0.15 / 1e6;
const OUT = 0.6 / 1e6;
const messages = [{ role: 'user' as const, content: 'Name three lighthouses on the coast of Brittany and when each was first lit.' }];
/** The worst case the gateway reserves for one request: the body's bytes as input, max_tokens as output. */
const worstCase = (maxTokens: number): number => Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens })) * IN + maxTokens * OUT;

const ask = (client: OpenAI, extra: Record<string, unknown> = {}): Promise<OpenAI.Chat.Completions.ChatCompletion> =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages, ...extra });

/** The benchmark's limits key, with one edge made small. */
const benchLimits = (edge: Record<string, unknown>): Record<string, unknown> => ({
  rpm: 100_000,
  rpd: 1_000_000,
  tpm: 1_000_000_000,
  concurrency: 1000,
  max_output_tokens: 4096,
  budgets: [
    { usd: 1000, period: 'day' },
    { usd: 10_000, period: 'month' },
  ],
  ...edge,
});

async function inFlight(count: number): Promise<void> {
  await waitFor(() => h.fake.requests.length >= count, { what: `${count} requests at the upstream` });
}

describeEachLimitsBackend((harness) => (h = harness), () => {
  describe('limits fast path: edges', () => {
    it('admits exactly the requests the budget covers while they are in flight, refuses the next, and admits again once they settle', async () => {
      const maxTokens = 100;
      // Three worst cases and a hair: the fourth cannot fit, whatever the tokenizer says about the first three.
      const budget = worstCase(maxTokens) * 3 + 1e-9;
      const { key } = await h.createKey({ limits: benchLimits({ budgets: [{ usd: budget, period: 'lifetime' }, { usd: 10_000, period: 'month' }] }) });
      const client = h.client(key);
      h.fake.setBehavior({ type: 'ok', delayMs: 1500 });
      const held = [ask(client, { max_tokens: maxTokens }), ask(client, { max_tokens: maxTokens }), ask(client, { max_tokens: maxTokens })];
      await inFlight(3);
      const refused = await apiErrorOf(ask(client, { max_tokens: maxTokens }));
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect(refused.code).toBe('budget_exceeded');
      expect(refused.headers?.get('x-should-retry')).toBe('false');
      expect(h.fake.requests).toHaveLength(3);
      const answers = await Promise.all(held);
      // Each answer cost far less than its reservation: settled, the budget has room for one more worst case.
      const spent = answers.reduce((sum, a) => sum + (a.usage?.prompt_tokens ?? NaN) * IN + (a.usage?.completion_tokens ?? NaN) * OUT, 0);
      expect(spent).toBeLessThan(budget - worstCase(maxTokens));
      h.fake.setBehavior({ type: 'ok' });
      await waitFor(
        async () =>
          ask(client, { max_tokens: maxTokens }).then(
            () => true,
            () => false,
          ),
        { what: 'the settled budget to admit a request again' },
      );
      expect(h.fake.requests).toHaveLength(4);
    });

    it('refuses the request one past the rpm with the same headers, injects the cap on the ones before, and recovers on schedule', async () => {
      const { key } = await h.createKey({ limits: benchLimits({ rpm: 3 }) });
      const client = h.client(key);
      for (let i = 0; i < 3; i++) {
        await ask(client);
        // Budgeted, no cap on the request: the key's max_output_tokens is injected (the budget covers it).
        expect((h.fake.lastRequest()?.json as { max_completion_tokens?: number }).max_completion_tokens).toBe(4096);
      }
      const refused = await apiErrorOf(ask(client));
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect(refused.code).toBe('rate_limit_exceeded');
      expect(refused.headers?.get('x-ratelimit-limit-requests')).toBe('3');
      expect(refused.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(Number(refused.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(h.fake.requests).toHaveLength(3);
      // GCRA at 3/min: one request is earned back every 20 s, not before.
      h.clock.advance(19_000);
      expect((await apiErrorOf(ask(client))).code).toBe('rate_limit_exceeded');
      h.clock.advance(1_000);
      await ask(client);
      expect((await apiErrorOf(ask(client))).code).toBe('rate_limit_exceeded');
      expect(h.fake.requests).toHaveLength(4);
    });

    it('refuses the request one past the concurrency limit and gives the slots back as each request settles', async () => {
      const { key } = await h.createKey({ limits: benchLimits({ concurrency: 2 }) });
      const client = h.client(key);
      h.fake.setBehavior({ type: 'ok', delayMs: 1000 });
      const held = [ask(client), ask(client)];
      await inFlight(2);
      const refused = await apiErrorOf(ask(client));
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect(refused.code).toBe('concurrency_limit_exceeded');
      await Promise.all(held);
      h.fake.setBehavior({ type: 'ok' });
      // Both slots are free again (settlement released them, synchronously, before the next request).
      await Promise.all([ask(client), ask(client)]);
      expect(h.fake.requests).toHaveLength(4);
    });
  });

  describe('limits fast path: the compiled plan follows the key', () => {
    it('applies limits changed through the admin API on the very next request', async () => {
      const { id, key } = await h.createKey({ limits: { rpm: 1, max_output_tokens: 50 } });
      const client = h.client(key);
      const cap = (): number | undefined => (h.fake.lastRequest()?.json as { max_completion_tokens?: number }).max_completion_tokens;
      await ask(client);
      expect(cap()).toBe(50);
      expect((await apiErrorOf(ask(client))).code).toBe('rate_limit_exceeded');

      // Raised rpm and a new cap: admitted at once, with the new cap injected.
      expect((await h.admin('PATCH', `/keys/${id}`, { limits: { rpm: 100, max_output_tokens: 70 } })).status).toBe(200);
      await ask(client);
      expect(cap()).toBe(70);
      const capped = await apiErrorOf(ask(client, { max_tokens: 71 }));
      expect(capped.code).toBe('max_tokens_exceeded');

      // A budget too small for any request: refused before the upstream sees it.
      const before = h.fake.requests.length;
      expect((await h.admin('PATCH', `/keys/${id}`, { limits: { budgets: [{ usd: 0.000001, period: 'day' }] } })).status).toBe(200);
      expect((await apiErrorOf(ask(client, { max_tokens: 1000 }))).code).toBe('budget_exceeded');
      expect(h.fake.requests).toHaveLength(before);

      // No limits at all: admitted, nothing injected, no budget consulted.
      expect((await h.admin('PATCH', `/keys/${id}`, { limits: {} })).status).toBe(200);
      await ask(client);
      expect(cap()).toBeUndefined();
      expect(h.fake.requests).toHaveLength(before + 1);
    });

    it('moves the budget to the new day at midnight in the key time zone (period keys are cached per minute only)', async () => {
      // Output dominates the worst case, so half of one does not fit even when the tokenizer sizes the input.
      const worst = worstCase(1000);
      const { key } = await h.createKey({ limits: { budgets: [{ usd: worst * 1.5, period: 'day' }], time_zone: 'UTC' } });
      const client = h.client(key);
      // 30 s before midnight UTC, a request held upstream reserves one worst case: half of one is left today.
      const now = h.clock.now();
      h.clock.advance(Math.ceil(now / 86_400_000) * 86_400_000 - now - 30_000);
      h.fake.setBehavior({ type: 'ok', delayMs: 1500 });
      const held = ask(client, { max_tokens: 1000 });
      await inFlight(1);
      expect((await apiErrorOf(ask(client, { max_tokens: 1000 }))).code).toBe('budget_exceeded');
      // A minute later it is the next day: its budget is untouched, although the same plan served the last minute.
      h.clock.advance(60_000);
      const next = ask(client, { max_tokens: 1000 });
      await inFlight(2);
      await Promise.all([held, next]);
      expect(h.fake.requests).toHaveLength(2);
    });
  });
});
