// Settlement: an answer without usage is charged its full reservation (never $0); usage above the reservation is
// charged at the truth and raises a critical alert; and settling always releases the key's slot, even when
// measuring fails (a prompt with <|endoftext|> once made the tokenizer throw and locked the key until restart).
import { describe, expect, it } from 'vitest';
import { noisyText, longReply, outcomeOf, useBudgetBench } from './budget-harness.js';

const bench = useBudgetBench();

const drain = async (stream: AsyncIterable<unknown>): Promise<void> => {
  for await (const _chunk of stream) {
    // read to the end (or the cut)
  }
};

describe('adversarial budgets: settlement', () => {
  it('charges a non-streamed answer without usage its full reservation, so repeats cannot overrun', async () => {
    bench().h.fake.configure({ reply: longReply(4000) });
    bench().h.fake.setBehavior({ type: 'ok', omitUsage: true });
    const { id, client } = await bench().budgetKey();
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'go', max_output_tokens: 4000 });
    expect(first.usage ?? null).toBeNull();
    await bench().h.server.gateway.usage.flush();
    const { body } = await bench().h.admin<{ data: Array<{ costUsd: number }> }>('GET', `/usage/records?key_id=${id}`);
    const reserved = body.data[0]?.costUsd ?? 0;
    // Output cap alone: 4,000 × $0.60 / 1M.
    expect(reserved).toBeGreaterThanOrEqual(4000 * 0.6e-6);
    expect(await bench().spentOf(id)).toBeCloseTo(reserved, 12);
    for (let i = 0; i < 5; i++) await outcomeOf(client.responses.create({ model: 'gpt-4o-mini', input: 'go', max_output_tokens: 4000 }));
    bench().expectBilledWithinBudget();
  });

  it('charges a stream that ends without its usage chunk its full reservation', async () => {
    bench().h.fake.configure({ reply: longReply(3000) });
    bench().h.fake.setBehavior({ type: 'ok', omitUsage: true });
    const { client } = await bench().budgetKey();
    for (let i = 0; i < 5; i++) {
      const outcome = await outcomeOf(
        client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'go' }], max_tokens: 3000, stream: true }).then(drain),
      );
      if (outcome !== 'ok') break;
    }
    bench().expectBilledWithinBudget();
  });

  it('charges usage above the reservation at the truth, and raises a critical alert', async () => {
    // The allowance ($0.001) is smaller than the stored history the fake bills (50,000 tokens: $0.0075). The key
    // first stores the response it continues (ownership answers 404 for an id the key did not create); that cheap
    // creation is settled at its reported usage, so spend and bill both include it.
    const { id, client } = await bench().budgetKey({ unbounded_allowance_usd: 0.001 });
    const previous = await client.responses.create({ model: 'gpt-4o-mini', input: 'Remember: the code word is heron.', max_output_tokens: 16 });
    const res = await client.responses.create({ model: 'gpt-4o-mini', input: 'go', previous_response_id: previous.id, max_output_tokens: 16 });
    expect(bench().ledger.entries).toHaveLength(2);
    const billed = bench().ledger.totalUsd();
    expect(res.usage?.input_tokens).toBeGreaterThan(50_000);
    expect(await bench().spentOf(id)).toBeCloseTo(billed, 9);
    expect(bench().h.logs()).toContain('cost bound exceeded');
    const monitor = bench().h.server.monitor;
    expect(monitor).not.toBeNull();
    await monitor?.tick();
    const alerts = await bench().h.admin<{ data: Array<{ keyId?: string; key_id?: string; severity: string; title: string }> }>('GET', `/alerts?key_id=${id}`);
    expect(alerts.body.data.some((a) => a.severity === 'critical' && a.title.includes('above its reservation'))).toBe(true);
  });

  it('releases the slot when a cut stream with <|endoftext|> in its prompt is settled (token limits only)', async () => {
    const { client } = await bench().h.createKey({ limits: { tpm: 1_000_000, concurrency: 1 } }).then((k) => ({ ...k, client: bench().h.client(k.key) }));
    bench().h.fake.queueBehavior({ type: 'ok', cutAfterChunks: 3 });
    const content = 'Repeat after me: <|endoftext|> <|im_start|>system';
    await outcomeOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 50, stream: true }).then(drain)).catch(() => 'cut');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await outcomeOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 50 }));
    expect(second).toBe('ok');
  });

  it('counts <|endoftext|> as plain text near a budget limit, and the key keeps working', async () => {
    const { client } = await bench().budgetKey({ concurrency: 1 });
    // Large enough that the byte bound does not fit the budget, so the tokenizer sizes it.
    const content = `${'<|endoftext|> '.repeat(2000)}${noisyText(60_000, 9)}`;
    const first = await outcomeOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 16 }));
    expect(first).toBe('ok');
    bench().h.fake.queueBehavior({ type: 'ok', cutAfterChunks: 2 });
    await outcomeOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x <|endoftext|>' }], max_tokens: 16, stream: true }).then(drain)).catch(() => 'cut');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await outcomeOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still there? <|endoftext|>' }], max_tokens: 16 }));
    expect(after).toBe('ok');
    bench().expectBilledWithinBudget();
  });
});
