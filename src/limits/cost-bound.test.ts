import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import type { SpendRepository } from '../store/index.js';
import type { VirtualKeyRecord } from '../store/index.js';
import { PriceTable } from '../pricing/index.js';
import { collectTokenText, inspectContent } from './content-walk.js';
import { countInputTokens, shapeRequest } from './estimate.js';
import { maxImageTokens, UNKNOWN_MODEL_IMAGE_TOKENS } from './image-tokens.js';
import { Limiter } from './limiter.js';
import { MemoryLimitsBackend } from './memory-backend.js';
import { readOutputCap } from './output-cap.js';

const deep = (levels: number, leaf: unknown): unknown => {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { a: [value] };
  return value;
};

describe('image token bounds', () => {
  it('uses the model family maximum: 8 tiles for tile models, the patch cap for patch models', () => {
    expect(maxImageTokens('gpt-4o-mini', 'other')).toBe(2833 + 8 * 5667);
    expect(maxImageTokens('gpt-4o-mini-2024-07-18', 'low')).toBe(2833);
    expect(maxImageTokens('gpt-4o', 'other')).toBe(85 + 8 * 170);
    expect(maxImageTokens('gpt-4.1-nano', 'low')).toBe(maxImageTokens('gpt-4.1-nano', 'other'));
    expect(maxImageTokens('some-new-model', 'low')).toBe(UNKNOWN_MODEL_IMAGE_TOKENS);
    expect(maxImageTokens(null, 'other')).toBeGreaterThanOrEqual(48_169);
  });
});

describe('output caps per endpoint', () => {
  it('reads only the endpoint’s own field and multiplies by n / best_of', () => {
    expect(readOutputCap('/v1/chat/completions', { max_tokens: 10, n: 3 })).toMatchObject({ cap: 10, choices: 3, capField: 'max_completion_tokens' });
    expect(readOutputCap('/v1/completions', { max_tokens: 10, best_of: 4, n: 2 })).toMatchObject({ cap: 10, choices: 4 });
    expect(readOutputCap('/v1/responses', { max_output_tokens: null })).toMatchObject({ cap: null });
  });

  it('refuses foreign, non-integer and disagreeing caps with the param named', () => {
    const param = (path: string, json: Record<string, unknown>): string | null => {
      try {
        readOutputCap(path, json);
        return null;
      } catch (err) {
        return err instanceof KeywardenError ? err.param : 'other';
      }
    };
    expect(param('/v1/embeddings', { max_tokens: 5 })).toBe('max_tokens');
    expect(param('/v1/chat/completions', { max_tokens: 5, max_completion_tokens: 6 })).toBe('max_tokens');
    expect(param('/v1/chat/completions', { n: Number.NaN })).toBe('n');
    expect(param('/v1/chat/completions', { n: true })).toBe('n');
    expect(param('/v1/chat/completions', { max_completion_tokens: 2 ** 60 })).toBe('max_completion_tokens');
  });
});

describe('content walk', () => {
  it('finds images and unseen parts at any depth without recursion (100k levels)', () => {
    const json = { model: 'gpt-4o', x: deep(100_000, { type: 'image_url', image_url: { url: 'https://a/b.png' } }), y: deep(50_000, { type: 'input_file', file_url: 'u' }) };
    const facts = inspectContent(json, 'gpt-4o');
    expect(facts.images).toBe(1);
    expect(facts.imageTokens).toBe(85 + 8 * 170);
    expect(facts.unseenPart).toBe('input_file');
  });

  it('collects every string, key and number, including data: strings, and skips only image URLs', () => {
    const { text, elements } = collectTokenText({
      model: 'm',
      input: [[1, 2, 3], 'data:hidden-text'],
      tools: [{ parameters: { longPropertyName: { type: 'string' } } }],
      c: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }],
    });
    for (const piece of ['hidden-text', 'longPropertyName', '1', '2', '3']) expect(text).toContain(piece);
    expect(text).not.toContain('base64,AAAA');
    expect(elements).toBeGreaterThan(10);
  });

  it('tokenizer bound counts special tokens as plain text and is never below the parts', async () => {
    const count = await countInputTokens({ messages: [{ role: 'user', content: '<|endoftext|><|im_start|>' }] }, 'gpt-4o-mini', 0);
    expect(count).toBeGreaterThan(6);
    expect(await countInputTokens({ input: 'x' }, 'unknown-model', 0)).toBeNull();
  });

  it('the byte bound includes images at their maximum', () => {
    const json = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'high' } }] }], max_tokens: 5 };
    const shape = shapeRequest('/v1/chat/completions', json, 100, 'gpt-4o-mini');
    expect(shape.inputBoundTokens).toBe(100 + 48_169);
    expect(shape.outputCap).toBe(5);
    expect(shape.extraOutputTokens).toBe(0);
  });

  it('bounds rejected predicted-output tokens by the body size, at the output price', () => {
    const json = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'edit' }], prediction: { type: 'content', content: 'x'.repeat(500) }, max_tokens: 5 };
    expect(shapeRequest('/v1/chat/completions', json, 600, 'gpt-4o-mini').extraOutputTokens).toBe(600);
  });
});

describe('settlement is exception-safe', () => {
  it('settles at the full reservation and releases the slot when measuring throws', async () => {
    const ledger: SpendRepository = {
      spentFor: () => Promise.resolve({}),
      reserve: () => Promise.resolve(),
      settle: () => Promise.resolve(),
    } as unknown as SpendRepository;
    const backend = new MemoryLimitsBackend(ledger);
    const prices = new PriceTable();
    const limiter = new Limiter(backend, prices);
    const key = { id: 'key_1', version: 1, limits: { budgets: [{ usd: 1, period: 'day' }], concurrency: 1 } } as unknown as VirtualKeyRecord;
    const admission = await limiter.admit({ key, path: '/v1/chat/completions', model: 'gpt-4o-mini', json: { model: 'gpt-4o-mini', messages: [], max_tokens: 10 }, bodyBytes: 50, now: Date.now() });
    expect(admission).not.toBeNull();
    expect(await backend.inflight('key_1')).toBe(1);
    // A meter that throws while pricing the reported usage.
    prices.costOf = () => {
      throw new Error('meter broke');
    };
    if (!admission) return;
    await expect(limiter.settle(admission, { status: 200, tokens: { promptTokens: 1, cachedTokens: 0, completionTokens: 1, reasoningTokens: 0 }, streamedText: '', incomplete: false }, Date.now())).rejects.toThrow('meter broke');
    expect(await backend.inflight('key_1')).toBe(0);
    expect(await backend.budgetRemaining('key_1', [{ periodKey: admission.ticket.budgetPeriodKeys[0] ?? '', limitUsd: 1 }])).toBeCloseTo(1 - admission.ticket.reservedUsd, 12);
  });
});
