// Inputs the gateway cannot see — stored history, stored prompts, files fetched by the provider, background jobs,
// hosted tools — are refused on a budgeted key unless it opts in with a per-request allowance, which is then
// reserved in full. Budget $0.01/day each; the judge is the fake's own bill.
//
// Object ownership runs before limits and answers 404 for any id the key does not own, so every reference here
// names a real object the budgeted key may use: a stored response it created itself, or a conversation, file or
// vector store created by a sibling key and shared through the budgeted key's `objects_from` scope (a budgeted key
// cannot create those itself: requests without a priced model are refused by the cost bound). That way the request
// passes ownership and it is the budget check that answers.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBudgetBench, longReply, outcomeOf, type BudgetBench } from './budget-harness.js';

let bench: BudgetBench;
/** Creates the objects a budgeted key cannot create itself (see the harness). */
let maker: { id: string; client: OpenAI };
beforeAll(async () => {
  bench = await startBudgetBench();
  maker = await bench.objectMaker();
});
beforeEach(() => {
  bench.ledger.reset();
  bench.h.fake.reset();
});
afterAll(() => bench.h.close());

const MODEL = 'gpt-4o-mini';
const input = 'Summarize what we discussed.';

/** A response stored upstream by the budgeted key itself: cheap (a short input, 16 output tokens at most). */
async function storedResponseOf(client: OpenAI): Promise<string> {
  const created = await client.responses.create({ model: MODEL, input: 'Remember: the code word is heron.', max_output_tokens: 16 });
  expect(created.id).toMatch(/^resp_/);
  return created.id;
}

type Needs = 'response' | 'conversation' | 'file' | 'vector_store';

/** Creates the object a case references, through the gateway, and returns its id. */
async function createObject(needs: Needs, client: OpenAI): Promise<string> {
  switch (needs) {
    case 'response':
      return storedResponseOf(client);
    case 'conversation':
      return (await maker.client.conversations.create({ metadata: { topic: 'budget' } })).id;
    case 'file':
      return (await maker.client.files.create({ file: await OpenAI.toFile(Buffer.from('%PDF-1.4 a long report'), 'report.pdf'), purpose: 'user_data' })).id;
    case 'vector_store':
      return (await maker.client.vectorStores.create({ name: 'kb' })).id;
  }
}

/** Requests whose cost lives outside the body, with the field the refusal must name; `id` is the created object's. */
const UNSEEN: ReadonlyArray<{ name: string; param: string; needs?: Needs; body: (id: string) => Record<string, unknown> }> = [
  { name: 'previous_response_id', param: 'previous_response_id', needs: 'response', body: (id) => ({ input, previous_response_id: id }) },
  { name: 'conversation', param: 'conversation', needs: 'conversation', body: (id) => ({ input, conversation: id }) },
  { name: 'stored prompt', param: 'prompt', body: () => ({ prompt: { id: 'pmpt_abc123', version: '2' } }) },
  { name: 'background', param: 'background', body: () => ({ input, background: true }) },
  {
    name: 'input_file by file_url',
    param: 'input_file',
    body: () => ({ input: [{ role: 'user', content: [{ type: 'input_text', text: 'read this' }, { type: 'input_file', file_url: 'https://example.com/huge.pdf' }] }] }),
  },
  { name: 'input_file by file_id', param: 'input_file', needs: 'file', body: (id) => ({ input: [{ role: 'user', content: [{ type: 'input_file', file_id: id }] }] }) },
  { name: 'web_search tool', param: 'tools', body: () => ({ input, tools: [{ type: 'web_search' }] }) },
  { name: 'file_search tool', param: 'tools', needs: 'vector_store', body: (id) => ({ input, tools: [{ type: 'file_search', vector_store_ids: [id] }] }) },
  { name: 'code_interpreter tool', param: 'tools', body: () => ({ input, tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] }) },
  { name: 'mcp tool', param: 'tools', body: () => ({ input, tools: [{ type: 'mcp', server_label: 'x', server_url: 'https://mcp.example.com' }] }) },
  { name: 'image_generation tool', param: 'tools', body: () => ({ input, tools: [{ type: 'image_generation' }] }) },
  { name: 'priority service tier', param: 'service_tier', body: () => ({ input, service_tier: 'priority' }) },
];

describe('adversarial budgets: inputs the gateway cannot see', () => {
  for (const c of UNSEEN) {
    it(`refuses ${c.name} on a budgeted key, naming the field`, async () => {
      const { key, client } = await bench.budgetKey({}, { objects_from: [maker.id] });
      const id = c.needs === undefined ? '' : await createObject(c.needs, client);
      // The creation went upstream (and a stored response was billed); the refused requests must not.
      const before = bench.h.fake.requestCount;
      for (let i = 0; i < 3; i++) {
        const res = await bench.rawPost('/v1/responses', key, JSON.stringify({ model: MODEL, max_output_tokens: 64, ...c.body(id) }));
        expect(res.status).toBe(403);
        expect(res.json.error?.code).toBe('cost_not_bounded');
        expect(res.json.error?.param).toBe(c.param);
        expect(res.json.error?.message).toContain(c.param);
      }
      expect(bench.h.fake.requestCount).toBe(before);
      bench.expectBilledWithinBudget();
    });
  }

  it('refuses item_reference for every key (ownership answers 400 before the budget check), so nothing is billed', async () => {
    // An item reference pulls an item of a stored response by its item id, which the gateway does not track, so
    // the ownership stage (authorization, before limits) refuses it with 400 for every key — budgeted or not, with
    // or without an allowance, even for an item of the key's own stored response. The budget check, which would
    // answer 403 cost_not_bounded (item_reference is also one of its unseen part types), is never reached.
    const plain = await bench.budgetKey();
    const allowed = await bench.budgetKey({ unbounded_allowance_usd: 0.008 });
    const stored = await plain.client.responses.create({ model: MODEL, input: 'Remember: the code word is heron.', max_output_tokens: 16 });
    const itemId = stored.output[0]?.id ?? '';
    expect(itemId).toMatch(/^msg_/);
    const before = bench.h.fake.requestCount;
    for (const { key } of [plain, allowed]) {
      for (let i = 0; i < 3; i++) {
        const res = await bench.rawPost('/v1/responses', key, JSON.stringify({ model: MODEL, max_output_tokens: 64, input: [{ type: 'item_reference', id: itemId }] }));
        expect(res.status).toBe(400);
        expect(res.json.error?.code).toBe('invalid_request');
        expect(res.json.error?.param).toBe('input');
        expect(res.json.error?.message).toContain('Item references');
      }
    }
    expect(bench.h.fake.requestCount).toBe(before);
    bench.expectBilledWithinBudget();
  });

  it('refuses hosted tools and file parts on chat completions too', async () => {
    const { key, client } = await bench.budgetKey({}, { objects_from: [maker.id] });
    const fileId = await createObject('file', client);
    const before = bench.h.fake.requestCount;
    const messages = [{ role: 'user', content: 'search the web' }];
    const cases = [
      { web_search_options: {} },
      { tools: [{ type: 'web_search_preview' }] },
      { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: fileId } }] }] },
      { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] },
    ];
    for (const extra of cases) {
      const res = await bench.rawPost('/v1/chat/completions', key, JSON.stringify({ model: MODEL, messages, max_tokens: 16, ...extra }));
      expect(res.json.error?.code, JSON.stringify(extra)).toBe('cost_not_bounded');
    }
    expect(bench.h.fake.requestCount).toBe(before);
  });

  it('with an allowance, reserves it in full on top of the visible bound: history cannot overrun the budget', async () => {
    // The fake's stored history bills 50,000 tokens ($0.0075 on gpt-4o-mini); the allowance covers it. The stored
    // response the key creates first (a few input tokens, 16 output tokens at most) is on the same budget.
    const { client } = await bench.budgetKey({ unbounded_allowance_usd: 0.008 });
    const previous = await storedResponseOf(client);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(await outcomeOf(client.responses.create({ model: MODEL, input, previous_response_id: previous, max_output_tokens: 64 })));
    }
    expect(outcomes[0]).toBe('ok');
    // The judge billed the creation, then the hidden history behind the (existing) stored response.
    expect(bench.ledger.entries).toHaveLength(2);
    expect(bench.ledger.entries[1]?.inputTokens).toBeGreaterThan(50_000);
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
