// Reads, lists and deletes cost nothing at the provider, so a budgeted key may make them without a priced model:
// they reserve $0 and never change the spend. Anything that can generate (POST) still needs its bound.
import { describe, expect, it } from 'vitest';
import { outcomeOf, useBudgetBench } from './budget-harness.js';

const bench = useBudgetBench();

describe('adversarial budgets: cost-free methods on a budgeted key', () => {
  it('lists and retrieves models, and reads and deletes its own stored response, at $0', async () => {
    const { id, client } = await bench().budgetKey();
    const models = await client.models.list();
    expect(models.data.length).toBeGreaterThan(0);
    expect((await client.models.retrieve('gpt-4o-mini')).id).toContain('gpt-4o-mini');

    const created = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi', max_output_tokens: 16 });
    const spentAfterCreate = await bench().spentOf(id);
    expect(spentAfterCreate).toBeGreaterThan(0);
    expect((await client.responses.retrieve(created.id)).id).toBe(created.id);
    await client.responses.delete(created.id);
    await bench().h.server.gateway.usage.flush();
    // The reads and the delete added nothing; the only spend is the creation.
    expect(await bench().spentOf(id)).toBeCloseTo(spentAfterCreate, 12);
    bench().expectBilledWithinBudget();
  });

  it('still refuses a POST with no priced model (uploads can bill storage), and still counts reads against rpm', async () => {
    const { client } = await bench().budgetKey({ rpm: 2 }, { endpoints: ['*'] });
    const upload = await outcomeOf(client.files.create({ file: new File(['{}'], 'a.jsonl'), purpose: 'batch' }));
    expect(upload).toBe('403:cost_not_bounded');
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await outcomeOf(client.models.list()));
    expect(outcomes).toEqual(['ok', 'ok', '429:rate_limit_exceeded']);
    expect(bench().h.fake.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });
});
