import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import type { Harness } from '../support/gateway-harness.js';
import { describeEachLimitsBackend } from '../support/limits-backends.js';
import { waitFor } from '../support/wait-for.js';

let h: Harness;
afterEach(() => h.fake.reset());

const ask = (client: OpenAI, model = 'gpt-4o-mini', extra: Record<string, unknown> = {}): Promise<unknown> =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });


describeEachLimitsBackend((harness) => (h = harness), () => {
describe('rate limits', () => {
  it('refuses past the per-minute limit with 429, Retry-After and OpenAI rate-limit headers, then recovers', async () => {
    const { key } = await h.createKey({ limits: { rpm: 5 } });
    const client = h.client(key);
    for (let i = 0; i < 5; i++) await ask(client);
    const err = await apiErrorOf(ask(client));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.headers?.get('retry-after')).toBe('12');
    expect(err.headers?.get('x-ratelimit-limit-requests')).toBe('5');
    expect(err.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(err.headers?.get('x-ratelimit-reset-requests')).toMatch(/^\d+(m\d+)?s$/);
    h.clock.advance(12_000);
    await ask(client);
  });

  it('limits tokens per minute, charging the output cap up front and refunding after', async () => {
    const { key } = await h.createKey({ limits: { tpm: 1000 } });
    const client = h.client(key);
    await ask(client, 'gpt-4o-mini', { max_tokens: 600 });
    // The first request used far fewer than 600 tokens and was refunded, so a second 600 fits.
    await ask(client, 'gpt-4o-mini', { max_tokens: 600 });
    const err = await apiErrorOf(Promise.all([ask(client, 'gpt-4o-mini', { max_tokens: 900 }), ask(client, 'gpt-4o-mini', { max_tokens: 900 })]));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.headers?.get('x-ratelimit-limit-tokens')).toBe('1000');
    expect(err.headers?.get('x-ratelimit-reset-tokens')).toBeTruthy();
  });

  it('caps output tokens per request', async () => {
    const { key } = await h.createKey({ limits: { max_output_tokens: 100 } });
    const err = await apiErrorOf(ask(h.client(key), 'gpt-4o-mini', { max_tokens: 500 }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.code).toBe('max_tokens_exceeded');
    await ask(h.client(key));
    expect((h.fake.lastRequest()?.json as { max_completion_tokens?: number }).max_completion_tokens).toBe(100);
  });

  it('honours per-model rules, first match wins: slow GPT-4, never images', async () => {
    const { key } = await h.createKey({ limits: { model_rules: [{ match: 'gpt-4*', rpm: 2 }, { match: 'dall-e*', deny: true }, { match: '*', rpm: 100 }] } });
    const client = h.client(key);
    await ask(client, 'gpt-4o');
    await ask(client, 'gpt-4.1-mini');
    const limited = await apiErrorOf(ask(client, 'gpt-4o'));
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    await ask(client, 'gpt-3.5-turbo');
    const denied = await apiErrorOf(client.images.generate({ model: 'dall-e-3', prompt: 'cat' }));
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(denied.code).toBe('model_not_allowed');
  });
});

describe('concurrency', () => {
  it('refuses requests beyond the in-flight limit and always gives slots back, even after client disconnects', async () => {
    const { id, key } = await h.createKey({ limits: { concurrency: 2 } });
    const client = h.client(key);
    h.fake.setBehavior({ type: 'ok', chunkDelayMs: 200 });
    const controllers = [new AbortController(), new AbortController()];
    const streams = await Promise.all(
      controllers.map((c) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: c.signal })),
    );
    const third = await apiErrorOf(ask(client));
    expect(third).toBeInstanceOf(OpenAI.RateLimitError);
    expect(third.code).toBe('concurrency_limit_exceeded');
    for (const c of controllers) c.abort();
    for (const stream of streams) {
      await (async () => {
        for await (const _ of stream) {
          // aborted
        }
      })().catch(() => undefined);
    }
    const backend = h.server.gateway.limiter.backend;
    await waitFor(async () => (await backend.inflight(id)) === 0, { what: 'every concurrency slot to be released' });
    expect(await backend.inflight(id)).toBe(0);
    h.fake.reset();
    await Promise.all([ask(client), ask(client)]);
  });

  it('releases slots on upstream errors and timeouts', async () => {
    const { id, key } = await h.createKey({ limits: { concurrency: 1 } });
    const client = h.client(key);
    h.fake.setBehavior({ type: 'error', status: 503 });
    await apiErrorOf(ask(client));
    h.fake.setBehavior({ type: 'drop' });
    await apiErrorOf(ask(client));
    h.fake.reset();
    await ask(client);
    expect(await h.server.gateway.limiter.backend.inflight(id)).toBe(0);
  });
});
});
