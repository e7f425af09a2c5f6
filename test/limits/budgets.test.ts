import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { Harness } from '../support/gateway-harness.js';
import { describeEachLimitsBackend } from '../support/limits-backends.js';
import { waitFor } from '../support/wait-for.js';

let h: Harness;
afterEach(() => h.fake.reset());

interface KeyShow {
  budgets: Array<{ period: string; limit_usd: number; spent_usd: number }>;
}
const spentOf = async (id: string): Promise<number> => (await h.admin<KeyShow>('GET', `/keys/${id}`)).body.budgets[0]?.spent_usd ?? NaN;
/**
 * Waits until the key's request has been settled. The gateway settles the budget before it writes the usage
 * record, so a flushed record means the spend is final: no fixed sleep, no race with the settlement.
 */
async function settled(id: string, records = 1): Promise<void> {
  await waitFor(
    async () => {
      await h.server.gateway.usage.flush();
      return (await h.admin<{ data: unknown[] }>('GET', `/usage/records?key_id=${id}`)).body.data.length >= records;
    },
    { what: `the usage record of ${id}` },
  );
}

// gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output.
const IN = 0.15 / 1e6;
const OUT = 0.6 / 1e6;
const messages = [{ role: 'user' as const, content: 'Summarize the plot of a short story about a lighthouse keeper.' }];
const bodyBytes = (maxTokens: number): number => Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens }));

describeEachLimitsBackend((harness) => (h = harness), () => {
describe('budgets: reserve, then settle', () => {
  it('admits at most the requests a budget can cover under 100 concurrent requests, and never overspends', async () => {
    const maxTokens = 1000;
    // Worst case as the gateway reserves it: input bounded by the body size, output by max_tokens.
    const worstCase = bodyBytes(maxTokens) * IN + maxTokens * OUT;
    const budget = worstCase * 20;
    const { id, key } = await h.createKey({ limits: { budgets: [{ usd: budget, period: 'day' }] } });
    // The upstream holds every answer long enough for all 100 requests to be in flight at once, even on a loaded
    // machine (at 2 s, early answers settled below their worst case before the last requests arrived, which
    // legitimately freed budget for a 21st).
    h.fake.setBehavior({ type: 'ok', delayMs: 6000 });
    const client = h.client(key);
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, () =>
        client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens }).then(
          () => 'ok',
          (err: unknown) => (err instanceof OpenAI.RateLimitError ? (err.code ?? 'other') : 'other'),
        ),
      ),
    );
    const admitted = outcomes.filter((o) => o === 'ok').length;
    expect(admitted).toBeLessThanOrEqual(20);
    expect(admitted).toBeGreaterThanOrEqual(19);
    expect(outcomes.filter((o) => o === 'budget_exceeded')).toHaveLength(100 - admitted);
    await h.server.gateway.usage.flush();
    const spent = await spentOf(id);
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(budget);
    const { body } = await h.admin<{ data: Array<{ status: number; costUsd: number | null }> }>('GET', `/usage/records?key_id=${id}`);
    const recorded = body.data.reduce((sum, r) => sum + (r.costUsd ?? 0), 0);
    expect(recorded).toBeCloseTo(spent, 12);
    expect(recorded).toBeLessThanOrEqual(budget);
  });

  it('says a spent budget cannot be fixed by retrying, and the SDK does not retry it', async () => {
    const { id, key } = await h.createKey({ limits: { budgets: [{ usd: 0.000001, period: 'month' }] } });
    const client = h.client(key, { maxRetries: 3 });
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('budget_exceeded');
    expect((err as Error).message).toMatch(/Retrying will not help/);
    await h.server.gateway.usage.flush();
    const { body } = await h.admin<{ data: unknown[] }>('GET', `/usage/records?key_id=${id}`);
    expect(body.data).toHaveLength(1);
  });

  it('settles a stream cut at a random point above $0 and at or below its reservation', async () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 5; round++) {
      const maxTokens = 400;
      // The streamed body carries `"stream":true` too; a cut stream reported no usage and is charged this in full.
      const streamedBytes = Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens, stream: true }));
      const reservation = streamedBytes * IN + maxTokens * OUT;
      const { id, key } = await h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
      const cutAfter = 1 + Math.floor(random() * 8);
      h.fake.setBehavior({ type: 'ok', cutAfterChunks: cutAfter });
      const stream = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens, stream: true });
      await (async () => {
        for await (const _chunk of stream) {
          // drain until the cut
        }
      })().catch(() => undefined);
      await settled(id);
      const spent = await spentOf(id);
      expect(spent, `cut after ${cutAfter}`).toBeGreaterThan(0);
      expect(spent).toBeLessThanOrEqual(reservation + 1e-12);
    }
  });

  it('settles a stream that finishes without its usage chunk by counting the streamed tokens', async () => {
    const { id, key } = await h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    h.fake.setBehavior({ type: 'ok', omitUsage: true });
    const stream = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 300, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    await settled(id);
    expect(await spentOf(id)).toBeGreaterThan(0);
    const { body } = await h.admin<{ data: Array<{ completionTokens: number }> }>('GET', `/usage/records?key_id=${id}`);
    expect(body.data[0]?.completionTokens).toBeGreaterThan(0);
  });

  it('charges the full reservation when the client hangs up after the request went upstream', async () => {
    const maxTokens = 500;
    const reservation = bodyBytes(maxTokens) * IN + maxTokens * OUT;
    const { id, key } = await h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    h.fake.setBehavior({ type: 'hang' });
    const controller = new AbortController();
    const pending = h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens }, { signal: controller.signal });
    await waitFor(() => h.fake.requests.length > 0, { what: 'the request to reach the upstream' });
    controller.abort();
    await expect(pending).rejects.toThrow();
    await settled(id);
    expect(await spentOf(id)).toBeCloseTo(reservation, 12);
    const { body } = await h.admin<{ data: Array<{ status: number; errorCode: string | null; costUsd: number | null }> }>('GET', `/usage/records?key_id=${id}`);
    expect(body.data).toMatchObject([{ status: 499, errorCode: 'client_disconnected' }]);
    expect(body.data[0]?.costUsd).toBeCloseTo(reservation, 12);
  });

  it('releases the reservation when the upstream fails without producing tokens', async () => {
    const maxTokens = 1000;
    const worstCase = bodyBytes(maxTokens) * IN + maxTokens * OUT;
    const { id, key } = await h.createKey({ limits: { budgets: [{ usd: worstCase * 1.5, period: 'day' }] } });
    const client = h.client(key);
    h.fake.setBehavior({ type: 'error', status: 500 });
    for (let i = 0; i < 3; i++) {
      await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens })).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    }
    expect(await spentOf(id)).toBe(0);
    h.fake.reset();
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens });
    expect(await spentOf(id)).toBeGreaterThan(0);
  });

  it('injects an output cap that fits the remaining budget, or rejects when the key says so', async () => {
    const budget = 0.001; // fits ~1,600 output tokens of gpt-4o-mini
    const { key } = await h.createKey({ limits: { budgets: [{ usd: budget, period: 'day' }] } });
    await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages });
    const injected = (h.fake.lastRequest()?.json as { max_completion_tokens?: number }).max_completion_tokens ?? 0;
    expect(injected).toBeGreaterThan(1000);
    expect(injected * OUT).toBeLessThanOrEqual(budget);

    const strict = await h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }], output_cap: 'reject' } });
    const err = await h.client(strict.key).chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('max_tokens_required');
  });

  it('refuses requests whose cost cannot be bounded on a budgeted key', async () => {
    const { key } = await h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    const err = await h.client(key).chat.completions.create({ model: 'unpriced-model', messages, max_tokens: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('cost_not_bounded');
  });

  it('keeps spend across a restart, so a restart never refills a budget', async () => {
    const maxTokens = 1000;
    const worstCase = bodyBytes(maxTokens) * IN + maxTokens * OUT;
    const { id, key } = await h.createKey({ limits: { budgets: [{ usd: worstCase * 1.5, period: 'week' }] } });
    // A long answer uses the whole output cap, so one request spends most of the budget.
    h.fake.configure({ reply: Array.from({ length: 1500 }, (_, i) => `word${i} `) });
    await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens });
    const before = await spentOf(id);
    expect(before).toBeGreaterThan(maxTokens * OUT * 0.99);
    await h.restart();
    expect(await spentOf(id)).toBeCloseTo(before, 12);
    await h.restart();
    const afterRestart = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens }).catch((e: unknown) => e);
    expect(afterRestart).toBeInstanceOf(OpenAI.RateLimitError);
  });
});
});
