// The output cap is read from the field each endpoint defines, and nothing ambiguous reaches the upstream: a cap
// field of another endpoint, a string or fractional cap or `n`, and duplicate JSON keys are all 400s. Otherwise a
// lenient OpenAI-compatible upstream ignores or coerces what the gateway priced and generates to its own maximum.
// Budget $0.01/day each; the judge is the fake's own bill.
import { describe, expect, it } from 'vitest';
import { longReply, outcomeOf, useBudgetBench } from './budget-harness.js';

// Uncapped, the fake generates 20,000 tokens: $0.012 on gpt-4o-mini, more than the budget.
const bench = useBudgetBench(({ h }) => h.fake.configure({ reply: longReply(20_000) }));

const messages = [{ role: 'user', content: 'Write a long story.' }];

describe('adversarial budgets: the cap field of each endpoint, and nothing else', () => {
  const WRONG_FIELD: ReadonlyArray<{ path: string; body: Record<string, unknown>; param: string }> = [
    { path: '/v1/chat/completions', body: { messages, max_output_tokens: 10 }, param: 'max_output_tokens' },
    { path: '/v1/responses', body: { input: 'Write a long story.', max_tokens: 10 }, param: 'max_tokens' },
    { path: '/v1/responses', body: { input: 'Write a long story.', max_completion_tokens: 10 }, param: 'max_completion_tokens' },
    { path: '/v1/completions', body: { prompt: 'Once upon a time', max_completion_tokens: 10 }, param: 'max_completion_tokens' },
    { path: '/v1/completions', body: { prompt: 'Once upon a time', max_output_tokens: 10 }, param: 'max_output_tokens' },
  ];
  for (const c of WRONG_FIELD) {
    it(`refuses ${c.param} on ${c.path} with a 400 naming it`, async () => {
      const { key } = await bench().budgetKey();
      const model = c.path === '/v1/completions' ? 'gpt-3.5-turbo-instruct' : 'gpt-4o-mini';
      for (let i = 0; i < 2; i++) {
        const res = await bench().rawPost(c.path, key, JSON.stringify({ model, ...c.body }));
        expect(res.status).toBe(400);
        expect(res.json.error?.code).toBe('invalid_request');
        expect(res.json.error?.param).toBe(c.param);
      }
      expect(bench().h.fake.requests).toHaveLength(0);
      bench().expectBilledWithinBudget();
    });
  }

  const BAD_NUMBERS: ReadonlyArray<{ name: string; body: Record<string, unknown>; param: string }> = [
    { name: 'n as 1.5', body: { n: 1.5, max_tokens: 100 }, param: 'n' },
    { name: 'n as "2"', body: { n: '2', max_tokens: 100 }, param: 'n' },
    { name: 'n as -1', body: { n: -1, max_tokens: 100 }, param: 'n' },
    { name: 'n as 0', body: { n: 0, max_tokens: 100 }, param: 'n' },
    { name: 'max_tokens as "100"', body: { max_tokens: '100' }, param: 'max_tokens' },
    { name: 'max_completion_tokens as 10.5', body: { max_completion_tokens: 10.5 }, param: 'max_completion_tokens' },
    { name: 'max_completion_tokens as -5', body: { max_completion_tokens: -5 }, param: 'max_completion_tokens' },
    { name: 'max_tokens as 1e300', body: { max_tokens: 1e300 }, param: 'max_tokens' },
  ];
  for (const c of BAD_NUMBERS) {
    it(`refuses ${c.name} on chat completions`, async () => {
      const { key } = await bench().budgetKey();
      for (let i = 0; i < 2; i++) {
        const res = await bench().rawPost('/v1/chat/completions', key, JSON.stringify({ model: 'gpt-4o-mini', messages, ...c.body }));
        expect(res.status).toBe(400);
        expect(res.json.error?.param).toBe(c.param);
      }
      expect(bench().h.fake.requests).toHaveLength(0);
      bench().expectBilledWithinBudget();
    });
  }

  it('refuses best_of as a string on legacy completions', async () => {
    const { key } = await bench().budgetKey();
    const res = await bench().rawPost('/v1/completions', key, JSON.stringify({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once', best_of: '3', max_tokens: 100 }));
    expect(res.status).toBe(400);
    expect(res.json.error?.param).toBe('best_of');
    expect(bench().h.fake.requests).toHaveLength(0);
  });

  it('refuses max_tokens and max_completion_tokens that disagree, and accepts them when equal', async () => {
    const { key } = await bench().budgetKey();
    const disagree = await bench().rawPost('/v1/chat/completions', key, JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: 10, max_completion_tokens: 5000 }));
    expect(disagree.status).toBe(400);
    const agree = await bench().rawPost('/v1/chat/completions', key, JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: 10, max_completion_tokens: 10 }));
    expect(agree.status).toBe(200);
    bench().expectBilledWithinBudget();
  });

  it('prices every choice of an integer n, so parallel choices cannot overrun', async () => {
    const { client } = await bench().budgetKey();
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await outcomeOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'go' }], n: 3, max_tokens: 2000 })));
    expect(outcomes[0]).toBe('ok');
    expect(outcomes).toContain('429:budget_exceeded');
    bench().expectBilledWithinBudget();
  });

  it('injects a cap when the request has none, and the upstream then stops within the budget', async () => {
    const { client } = await bench().budgetKey();
    for (let i = 0; i < 4; i++) await outcomeOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'go' }] }));
    bench().expectBilledWithinBudget();
  });
});

describe('adversarial budgets: duplicate JSON keys are a 400 for every JSON request', () => {
  const DUPLICATES: ReadonlyArray<{ name: string; body: string; param: string }> = [
    { name: 'model', body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":16,"model":"gpt-4o"}', param: 'model' },
    { name: 'cap', body: '{"model":"gpt-4o-mini","max_tokens":100000,"messages":[{"role":"user","content":"hi"}],"max_tokens":16}', param: 'max_tokens' },
    { name: 'escaped cap', body: '{"model":"gpt-4o-mini","max_tokens":100000,"messages":[{"role":"user","content":"hi"}],"max\\u005ftokens":16}', param: 'max_tokens' },
    { name: 'nested key', body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","content":"other"}],"max_tokens":16}', param: 'content' },
    { name: 'n', body: '{"model":"gpt-4o-mini","n":8,"messages":[{"role":"user","content":"hi"}],"n":1,"max_tokens":16}', param: 'n' },
  ];
  for (const c of DUPLICATES) {
    it(`refuses a duplicated ${c.name} key, on budgeted and unlimited keys alike`, async () => {
      const budgeted = await bench().budgetKey();
      const unlimited = await bench().h.createKey();
      for (const key of [budgeted.key, unlimited.key]) {
        const res = await bench().rawPost('/v1/chat/completions', key, c.body);
        expect(res.status).toBe(400);
        expect(res.json.error?.code).toBe('invalid_json');
        expect(res.json.error?.param).toBe(c.param);
      }
      expect(bench().h.fake.requests).toHaveLength(0);
    });
  }
});
