// Audio tokens cost several times text tokens (gpt-4o-audio-preview: $10 text out, $80 audio out per 1M), and only
// the answer says how many of the output tokens were audio. A budget that reserved at the text rate would let a
// spoken answer run eight times over it. The fake fills whatever output cap it is given with audio (the worst case),
// and its bill at list prices is the judge. Budget $0.01/day.
import { describe, expect, it } from 'vitest';
import { longReply, outcomeOf, useBudgetBench } from './budget-harness.js';

// A short transcript, spoken at ten audio tokens a word: the audio is what fills the cap.
const bench = useBudgetBench(({ h }) => h.fake.configure({ reply: longReply(10) }));

const spoken = {
  model: 'gpt-4o-audio-preview',
  modalities: ['text', 'audio'] as Array<'text' | 'audio'>,
  audio: { voice: 'alloy' as const, format: 'wav' as const },
  messages: [{ role: 'user' as const, content: 'Read me a long story.' }],
};

describe('adversarial budgets: spoken answers', () => {
  it('keeps the upstream bill within the budget when every answer fills its cap with audio', async () => {
    const { client, id } = await bench().budgetKey();
    const outcomes: string[] = [];
    for (let i = 0; i < 30; i++) {
      const outcome = await outcomeOf(client.chat.completions.create(spoken));
      outcomes.push(outcome);
      if (outcome !== 'ok') break;
    }
    // Some answers went through (the model is usable on a budget), then the budget ran out.
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(0);
    expect(outcomes.at(-1)).toBe('429:budget_exceeded');
    // The answers really were spoken: the bill is well above the same tokens at the text rates.
    const atTextRates = bench().ledger.entries.reduce((sum, e) => sum + (e.inputTokens * 2.5 + e.outputTokens * 10) / 1e6, 0);
    expect(bench().ledger.totalUsd()).toBeGreaterThan(3 * atTextRates);
    bench().expectBilledWithinBudget();
    // The gateway's settled spend is the upstream's bill, not the text-rate price of the same tokens.
    expect(await bench().spentOf(id)).toBeCloseTo(bench().ledger.totalUsd(), 9);
  });

  it('refuses a cap whose audio would not fit, and admits one that does', async () => {
    const { client } = await bench().budgetKey();
    // 200 tokens at $80/1M is $0.016, over the $0.01 budget (at the text rate, $0.002, it would fit).
    expect(await outcomeOf(client.chat.completions.create({ ...spoken, max_completion_tokens: 200 }))).toBe('429:budget_exceeded');
    expect(bench().h.fake.requests).toHaveLength(0);
    expect(await outcomeOf(client.chat.completions.create({ ...spoken, max_completion_tokens: 50 }))).toBe('ok');
    bench().expectBilledWithinBudget();
  });
});
