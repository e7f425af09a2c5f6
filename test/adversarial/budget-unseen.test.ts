// Inputs the gateway cannot see — stored history, stored prompts, files fetched by the provider, background jobs,
// hosted tools — are refused on a budgeted key unless it opts in with a per-request allowance, which is then
// reserved in full. Budget $0.01/day each; the judge is the fake's own bill.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBudgetBench, longReply, outcomeOf, type BudgetBench } from './budget-harness.js';

let bench: BudgetBench;
beforeAll(async () => {
  bench = await startBudgetBench();
});
beforeEach(() => {
  bench.ledger.reset();
  bench.h.fake.reset();
});
afterAll(() => bench.h.close());

const input = 'Summarize what we discussed.';
/** Requests whose cost lives outside the body, with the field the refusal must name. */
const UNSEEN: ReadonlyArray<{ name: string; param: string; body: Record<string, unknown> }> = [
  { name: 'previous_response_id', param: 'previous_response_id', body: { input, previous_response_id: 'resp_abc123' } },
  { name: 'conversation', param: 'conversation', body: { input, conversation: 'conv_abc123' } },
  { name: 'stored prompt', param: 'prompt', body: { prompt: { id: 'pmpt_abc123', version: '2' } } },
  { name: 'background', param: 'background', body: { input, background: true } },
  {
    name: 'input_file by file_url',
    param: 'input_file',
    body: { input: [{ role: 'user', content: [{ type: 'input_text', text: 'read this' }, { type: 'input_file', file_url: 'https://example.com/huge.pdf' }] }] },
  },
  { name: 'input_file by file_id', param: 'input_file', body: { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-abc' }] }] } },
  { name: 'item_reference', param: 'item_reference', body: { input: [{ type: 'item_reference', id: 'msg_abc' }] } },
  { name: 'web_search tool', param: 'tools', body: { input, tools: [{ type: 'web_search' }] } },
  { name: 'file_search tool', param: 'tools', body: { input, tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] } },
  { name: 'code_interpreter tool', param: 'tools', body: { input, tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] } },
  { name: 'mcp tool', param: 'tools', body: { input, tools: [{ type: 'mcp', server_label: 'x', server_url: 'https://mcp.example.com' }] } },
  { name: 'image_generation tool', param: 'tools', body: { input, tools: [{ type: 'image_generation' }] } },
  { name: 'priority service tier', param: 'service_tier', body: { input, service_tier: 'priority' } },
];

describe('adversarial budgets: inputs the gateway cannot see', () => {
  for (const c of UNSEEN) {
    it(`refuses ${c.name} on a budgeted key, naming the field`, async () => {
      const { key } = await bench.budgetKey();
      for (let i = 0; i < 3; i++) {
        const res = await bench.rawPost('/v1/responses', key, JSON.stringify({ model: 'gpt-4o-mini', max_output_tokens: 64, ...c.body }));
        expect(res.status).toBe(403);
        expect(res.json.error?.code).toBe('cost_not_bounded');
        expect(res.json.error?.param).toBe(c.param);
        expect(res.json.error?.message).toContain(c.param);
      }
      expect(bench.h.fake.requests).toHaveLength(0);
      bench.expectBilledWithinBudget();
    });
  }

  it('refuses hosted tools and file parts on chat completions too', async () => {
    const { key } = await bench.budgetKey();
    const messages = [{ role: 'user', content: 'search the web' }];
    const cases = [
      { web_search_options: {} },
      { tools: [{ type: 'web_search_preview' }] },
      { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-abc' } }] }] },
      { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] },
    ];
    for (const extra of cases) {
      const res = await bench.rawPost('/v1/chat/completions', key, JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: 16, ...extra }));
      expect(res.json.error?.code, JSON.stringify(extra)).toBe('cost_not_bounded');
    }
    expect(bench.h.fake.requests).toHaveLength(0);
  });

  it('with an allowance, reserves it in full on top of the visible bound: history cannot overrun the budget', async () => {
    // The fake's stored history bills 50,000 tokens ($0.0075 on gpt-4o-mini); the allowance covers it.
    const { client } = await bench.budgetKey({ unbounded_allowance_usd: 0.008 });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(await outcomeOf(client.responses.create({ model: 'gpt-4o-mini', input, previous_response_id: 'resp_abc123', max_output_tokens: 64 })));
    }
    expect(outcomes[0]).toBe('ok');
    expect(outcomes.slice(1)).toEqual(['429:budget_exceeded', '429:budget_exceeded', '429:budget_exceeded']);
    bench.expectBilledWithinBudget();
  });

  it('background jobs: refused without an allowance, and with one each is charged its full reservation', async () => {
    bench.h.fake.configure({ reply: longReply(4000) });
    const plain = await bench.budgetKey();
    for (let i = 0; i < 5; i++) {
      expect(await outcomeOf(plain.client.responses.create({ model: 'gpt-4o-mini', input, background: true, max_output_tokens: 4000 }))).toBe('403:cost_not_bounded');
    }
    const allowed = await bench.budgetKey({ unbounded_allowance_usd: 0.001 });
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      outcomes.push(await outcomeOf(allowed.client.responses.create({ model: 'gpt-4o-mini', input, background: true, max_output_tokens: 4000 })));
    }
    expect(outcomes).toContain('ok');
    expect(outcomes.at(-1)).toBe('429:budget_exceeded');
    // The queued answer carries no usage: never settled at $0.
    expect(await bench.spentOf(allowed.id)).toBeGreaterThan(0.001);
    bench.expectBilledWithinBudget();
  });

  it('accepts an allowance through the admin API and validates it', async () => {
    const bad = await bench.h.admin('POST', '/keys', { name: 'x', limits: { unbounded_allowance_usd: -1 } });
    expect(bad.status).toBe(400);
    const text = await bench.h.admin('POST', '/keys', { name: 'x', limits: { unbounded_allowance_usd: 'lots' } });
    expect(text.status).toBe(400);
    const ok = await bench.h.admin<{ limits: Record<string, unknown> }>('POST', '/keys', { name: 'x', limits: { unbounded_allowance_usd: 0.5 } });
    expect(ok.status).toBe(201);
    expect(ok.body.limits.unbounded_allowance_usd).toBe(0.5);
  });
});
