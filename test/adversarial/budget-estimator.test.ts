// The input estimate must be an upper bound on what the provider bills, whatever the body hides its tokens in:
// strings that look like data URLs, object keys (tool schemas), numbers (token ids), deep nesting, images, and
// text whose bytes and tokens differ. Budget $0.01/day each; the judge is the fake's own bill.
import { describe, expect, it } from 'vitest';
import { pngDataUrl } from '../support/fake-openai-billing.js';
import { noisyText, outcomeOf, useBudgetBench } from './budget-harness.js';

const bench = useBudgetBench();

/** Sends the same request until the gateway refuses it (at most `tries`), returning the outcomes. */
async function untilRefused(send: () => Promise<unknown>, tries: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < tries; i++) {
    const outcome = await outcomeOf(send());
    outcomes.push(outcome);
    if (outcome !== 'ok') break;
  }
  return outcomes;
}

describe('adversarial budgets: every token-bearing element is counted', () => {
  it('counts strings that start with "data:" (not only image URLs)', async () => {
    const { client } = await bench().budgetKey();
    const content = `data:text/plain,${noisyText(60_000)}`;
    const outcomes = await untilRefused(() => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 16 }), 5);
    expect(outcomes[0]).toBe('ok');
    expect(outcomes.at(-1)).toBe('429:budget_exceeded');
    bench().expectBilledWithinBudget();
  });

  it('counts object keys, so a tool schema made of long property names is priced', async () => {
    const { client } = await bench().budgetKey();
    const properties = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`${noisyText(40, i + 1).replaceAll(' ', '_')}_${i}`, { type: 'string' }]));
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties } } }];
    const outcomes = await untilRefused(
      () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], tools, max_tokens: 16 }),
      6,
    );
    expect(outcomes[0]).toBe('ok');
    expect(outcomes.at(-1)).toBe('429:budget_exceeded');
    bench().expectBilledWithinBudget();
  });

  it('counts content nested far deeper than any fixed depth', async () => {
    const { client } = await bench().budgetKey();
    let schema: Record<string, unknown> = { type: 'string', description: noisyText(60_000, 3) };
    for (let depth = 0; depth < 60; depth++) schema = { type: 'object', properties: { inner: schema } };
    const tools = [{ type: 'function' as const, function: { name: 'deep', parameters: schema } }];
    const outcomes = await untilRefused(
      () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], tools, max_tokens: 16 }),
      5,
    );
    expect(outcomes[0]).toBe('ok');
    expect(outcomes.at(-1)).toBe('429:budget_exceeded');
    bench().expectBilledWithinBudget();
  });

  it('survives 100,000-deep JSON without a 500, and bills nothing it did not bound', async () => {
    const { key } = await bench().budgetKey();
    const deep = `${'{"a":'.repeat(100_000)}"${noisyText(2000, 5)}"${'}'.repeat(100_000)}`;
    const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":16,"x_nested":${deep}}`;
    for (let i = 0; i < 3; i++) {
      const res = await bench().rawPost('/v1/chat/completions', key, body);
      expect([200, 429]).toContain(res.status);
    }
    bench().expectBilledWithinBudget();
  });

  it('answers 400, not 500, when a cap must be rewritten into a 100,000-deep body', async () => {
    const { key } = await bench().budgetKey();
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":null,"x_nested":${deep}}`;
    const res = await bench().rawPost('/v1/chat/completions', key, body);
    expect(res.status).toBe(400);
    expect(res.json.error?.code).toBe('invalid_request');
    expect(bench().h.fake.requests).toHaveLength(0);
  });

  it('counts token-id arrays for embeddings, eight requests in parallel', async () => {
    const { client } = await bench().budgetKey();
    // 150,000 one-digit token ids: 300 KB of body, billed at one token per id.
    const ids = Array.from({ length: 150_000 }, (_, i) => i % 10);
    bench().h.fake.setBehavior({ type: 'ok', delayMs: 300 });
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => outcomeOf(client.embeddings.create({ model: 'text-embedding-3-small', input: ids }))));
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThanOrEqual(1);
    bench().expectBilledWithinBudget();
  });

  it('counts nested arrays of token ids (one array per input)', async () => {
    const { client } = await bench().budgetKey();
    const input = Array.from({ length: 6 }, () => Array.from({ length: 30_000 }, (_, i) => i % 10));
    bench().h.fake.setBehavior({ type: 'ok', delayMs: 200 });
    await Promise.all(Array.from({ length: 8 }, () => outcomeOf(client.embeddings.create({ model: 'text-embedding-3-small', input }))));
    bench().expectBilledWithinBudget();
  });

  it('prices a high-detail image on gpt-4o-mini at its maximum tile count', async () => {
    const { client } = await bench().budgetKey();
    // 768×2048: eight 512px tiles, 2,833 + 8 × 5,667 = 48,169 tokens on gpt-4o-mini.
    const url = pngDataUrl(768, 2048);
    for (const detail of ['high', 'auto', undefined] as const) {
      const image = detail === undefined ? { url } : { url, detail };
      await untilRefused(
        () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: image }] }], max_tokens: 16 }),
        3,
      );
    }
    bench().expectBilledWithinBudget();
    expect(bench().ledger.entries[0]?.inputTokens).toBeGreaterThan(48_169);
  });

  it('admits a low-detail image at its base price where a high-detail one would not fit', async () => {
    const { client } = await bench().budgetKey({});
    const url = pngDataUrl(768, 2048);
    const low = await outcomeOf(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url, detail: 'low' } }, { type: 'image_url', image_url: { url, detail: 'low' } }] }], max_tokens: 16 }),
    );
    expect(low).toBe('ok');
    // Two high-detail images bound at 2 × 48,169 tokens: $0.0145, more than the whole budget.
    const high = await outcomeOf(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'image_url', image_url: { url } }] }], max_tokens: 16 }),
    );
    expect(high).toBe('429:budget_exceeded');
    bench().expectBilledWithinBudget();
  });

  it('holds in a burst of 12 parallel image requests', async () => {
    const { client } = await bench().budgetKey();
    const url = pngDataUrl(768, 2048);
    bench().h.fake.setBehavior({ type: 'ok', delayMs: 300 });
    await Promise.all(
      Array.from({ length: 12 }, () =>
        outcomeOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }], max_tokens: 16 })),
      ),
    );
    bench().expectBilledWithinBudget();
  });

  it('holds for unicode-heavy prompts, where bytes and tokens differ most', async () => {
    const { client } = await bench().budgetKey();
    let x = 11;
    const cjk = Array.from({ length: 12_000 }, () => String.fromCodePoint(0x4e00 + ((x = (x * 48271) % 2147483647) % 20_000))).join('');
    const emoji = '🙂🧪🚀'.repeat(1500);
    for (const content of [cjk, emoji, `${cjk}${emoji}`]) {
      await untilRefused(() => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 64 }), 4);
    }
    bench().expectBilledWithinBudget();
  });

  it('holds in a burst of 16 parallel requests near the limit, each large enough to need the tokenizer', async () => {
    const { client } = await bench().budgetKey();
    bench().h.fake.setBehavior({ type: 'ok', delayMs: 300 });
    const outcomes = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        outcomeOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `data:${noisyText(60_000, i + 100)}` }], max_tokens: 500 })),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThanOrEqual(1);
    expect(outcomes.filter((o) => o !== 'ok' && o !== '429:budget_exceeded')).toEqual([]);
    bench().expectBilledWithinBudget();
  });
});
