import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { waitFor } from '../support/wait-for.js';

const DEADLINE = 800;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { server: { requestDeadlineMs: DEADLINE } } });
});
afterEach(() => h.fake.reset());
afterAll(() => h.close());

// gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output.
const IN = 0.15 / 1e6;
const OUT = 0.6 / 1e6;
const messages = [{ role: 'user' as const, content: 'Tell me a very long story.' }];
const bodyBytes = (maxTokens: number, stream: boolean): number =>
  Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens, ...(stream ? { stream: true } : {}) }));

interface KeyShow {
  budgets: Array<{ spent_usd: number }>;
}
interface RecordRow {
  status: number;
  errorCode: string | null;
  costUsd: number | null;
  completionTokens: number;
}
const spentOf = async (id: string): Promise<number> => (await h.admin<KeyShow>('GET', `/keys/${id}`)).body.budgets[0]?.spent_usd ?? NaN;
const recordsOf = async (id: string): Promise<RecordRow[]> => (await h.admin<{ data: RecordRow[] }>('GET', `/usage/records?key_id=${id}`)).body.data;

describe('server.requestDeadlineMs', () => {
  it('cuts a stream that never ends at the deadline, records it as incomplete and settles it as a cut stream', async () => {
    const maxTokens = 4000;
    const reservation = (bodyBytes(maxTokens, true) + 50) * IN + maxTokens * OUT;
    const { id, key } = await h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    // 4000 words, one every 50 ms: 200 s of stream if nothing cuts it.
    h.fake.configure({ reply: Array.from({ length: 4000 }, (_, i) => `w${i} `) });
    h.fake.setBehavior({ type: 'ok', chunkDelayMs: 50 });
    const started = Date.now();
    const stream = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens, stream: true });
    let received = 0;
    const outcome = await (async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content?.length ?? 0;
      return 'ended';
    })().catch(() => 'cut');
    const elapsed = Date.now() - started;
    expect(outcome).toBe('cut');
    expect(received).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(DEADLINE - 50);
    expect(elapsed).toBeLessThan(DEADLINE + 1_500);
    // The upstream exchange was aborted too, not left generating.
    await waitFor(() => h.fake.lastRequest()?.outcome === 'aborted', { what: 'the upstream request to be aborted' });

    await h.server.gateway.usage.flush();
    const [record] = await waitFor(async () => {
      const rows = await recordsOf(id);
      return rows.length === 1 ? rows : null;
    });
    expect(record).toMatchObject({ status: 200, errorCode: 'request_deadline_exceeded' });
    expect(record?.completionTokens).toBeGreaterThan(0);
    // Settled like any cut stream: above $0 (input + streamed output), never above the reservation.
    const spent = await spentOf(id);
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(reservation);
    expect(record?.costUsd).toBeCloseTo(spent, 12);
  });

  it('answers 504 request_deadline_exceeded when the upstream never answers, and charges the full reservation', async () => {
    const maxTokens = 500;
    const { id, key } = await h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    h.fake.setBehavior({ type: 'hang' });
    const started = Date.now();
    const err = await h
      .client(key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens })
      .catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('request_deadline_exceeded');
    expect(elapsed).toBeGreaterThanOrEqual(DEADLINE - 50);
    expect(elapsed).toBeLessThan(DEADLINE + 1_500);
    // The request went upstream: the provider may bill the whole answer, so the reservation is charged in full.
    const spent = await waitFor(async () => {
      const value = await spentOf(id);
      return value > 0 ? value : null;
    });
    expect(spent).toBeCloseTo(bodyBytes(maxTokens, false) * IN + maxTokens * OUT, 12);
    await h.server.gateway.usage.flush();
    expect(await recordsOf(id)).toMatchObject([{ status: 504, errorCode: 'request_deadline_exceeded' }]);
  });

  it('leaves requests that finish in time alone', async () => {
    const { id, key } = await h.createKey();
    h.fake.setBehavior({ type: 'ok', chunkDelayMs: 20 });
    const stream = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    const done = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(done.choices[0]?.message.content).toBeTruthy();
    await h.server.gateway.usage.flush();
    const rows = await recordsOf(id);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.errorCode).toBeNull();
  });
});
