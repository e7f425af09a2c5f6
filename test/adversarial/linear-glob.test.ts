import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';

/** Model globs (scopes) and model-rule patterns (limits): length-capped at creation, matched in linear time. */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const HUGE = 'a*'.repeat(20_000); // 40 K characters

describe('model globs', () => {
  it('refuses a 40 K-character glob or model-rule pattern at creation and update, with a 400', async () => {
    const attempts: Array<Record<string, unknown>> = [
      { name: 'x', models: [HUGE] },
      { name: 'x', models: ['gpt-4o-mini', `${'?'.repeat(201)}`] },
      { name: 'x', limits: { model_rules: [{ match: HUGE, rpm: 1 }] } },
      { name: 'x', limits: { model_rules: [{ match: `${'x'.repeat(201)}`, deny: true }] } },
    ];
    for (const body of attempts) {
      const res = await h.admin<{ error: { code: string; type: string } }>('POST', '/keys', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    const { id } = await h.createKey({ models: ['gpt-4o-mini'] });
    const update = await h.admin<{ error: { code: string } }>('PATCH', `/keys/${id}`, { models: [HUGE] });
    expect(update.status).toBe(400);
    const rule = await h.admin<{ error: { code: string } }>('PATCH', `/keys/${id}`, { limits: { model_rules: [{ match: HUGE, rpm: 1 }] } });
    expect(rule.status).toBe(400);
    // The cap itself is usable.
    expect((await h.admin('POST', '/keys', { name: 'edge', models: ['g'.repeat(200)], limits: { model_rules: [{ match: '*'.repeat(200), rpm: 5 }] } })).status).toBe(201);
  });

  it('matches a worst-case glob against a worst-case model in time comparable to an ordinary refusal', async () => {
    // Backtracking regexes for these take polynomial time on a long near-miss model name.
    const patterns = [`${'a*'.repeat(99)}b`, `*${'?*'.repeat(99)}b`, `*${'a'.repeat(190)}b*`];
    const { key } = await h.createKey({ models: patterns, limits: { model_rules: patterns.map((match) => ({ match, deny: true })) } });
    const client = h.client(key);
    const refuse = async (model: string): Promise<number> => {
      const started = performance.now();
      const err = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      return performance.now() - started;
    };
    const benign = 'a'.repeat(200_000).replace(/a$/, 'c'); // same size, refused the same way
    const worst = 'a'.repeat(200_000);
    await refuse(benign); // warm-up
    const benignMs = Math.min(await refuse(benign), await refuse(benign), await refuse(benign));
    const worstMs = Math.min(await refuse(worst), await refuse(worst));
    expect(worstMs).toBeLessThan(benignMs * 5 + 50);
    // And a matching model still passes both the scope and the rules' patterns (matched = denied by the rule).
    const matching = `${'a'.repeat(1000)}b`;
    const denied = await client.chat.completions.create({ model: matching, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(OpenAI.APIError);
    expect((denied as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
  });
});
