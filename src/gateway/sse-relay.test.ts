import { describe, expect, it } from 'vitest';
import { SseRelay } from './sse-relay.js';

const chunk = (obj: unknown): string => `data: ${JSON.stringify(obj)}\n\n`;
const delta = (content: string): string =>
  chunk({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }], usage: null });
const usageChunk = chunk({
  id: 'c1',
  object: 'chat.completion.chunk',
  choices: [],
  usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13, prompt_tokens_details: { cached_tokens: 3 } },
});

function run(input: string[], drop: boolean, trackText = true): { out: string[]; relay: SseRelay } {
  const out: string[] = [];
  const relay = new SseRelay({ dropInjectedUsageChunk: drop, maxEventBytes: 1 << 20, trackText, scrub: (t) => t.replaceAll('SECRET', '[x]'), emit: (t) => out.push(t) });
  for (const part of input) relay.push(Buffer.from(part));
  relay.end();
  return { out, relay };
}

describe('SseRelay', () => {
  it('forwards each event as soon as it is complete, across arbitrary chunk boundaries', () => {
    const stream = delta('Hel') + delta('lo') + 'data: [DONE]\n\n';
    const pieces = [stream.slice(0, 7), stream.slice(7, 50), stream.slice(50)];
    const { out, relay } = run(pieces, false);
    expect(out.join('')).toBe(stream);
    expect(out).toHaveLength(3);
    expect(relay.outputText).toBe('Hello');
  });

  it('reads usage from the usage chunk and drops it only when the gateway injected it', () => {
    const stream = delta('Hi') + usageChunk + 'data: [DONE]\n\n';
    const dropped = run([stream], true);
    expect(dropped.out.join('')).toBe(delta('Hi') + 'data: [DONE]\n\n');
    expect(dropped.relay.meteredUsage).toEqual({ promptTokens: 11, cachedTokens: 3, completionTokens: 2, reasoningTokens: 0 });
    const kept = run([stream], false);
    expect(kept.out.join('')).toBe(stream);
    expect(kept.relay.meteredUsage?.promptTokens).toBe(11);
  });

  it('reads usage from the Responses API completed event', () => {
    const completed =
      'event: response.completed\n' +
      `data: ${JSON.stringify({ type: 'response.completed', response: { id: 'r', usage: { input_tokens: 5, output_tokens: 7, output_tokens_details: { reasoning_tokens: 4 } } } })}\n\n`;
    const textDelta = `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'abc' })}\n\n`;
    const { out, relay } = run([textDelta + completed], false);
    expect(out.join('')).toBe(textDelta + completed);
    expect(relay.meteredUsage).toEqual({ promptTokens: 5, cachedTokens: 0, completionTokens: 7, reasoningTokens: 4 });
    expect(relay.outputText).toBe('abc');
  });

  it('handles CRLF framing, comments and a trailing event with no blank line', () => {
    const { out } = run([': keep-alive\r\n\r\ndata: {"choices":[]}\r\n\r\n', 'data: [DONE]'], false);
    expect(out).toEqual([': keep-alive\r\n\r\n', 'data: {"choices":[]}\r\n\r\n', 'data: [DONE]']);
  });

  it('scrubs every forwarded event and keeps multi-byte characters intact across chunk splits', () => {
    const text = delta('héllo SECRET ✓');
    const bytes = Buffer.from(text);
    const out: string[] = [];
    const relay = new SseRelay({ dropInjectedUsageChunk: false, maxEventBytes: 1 << 20, trackText: true, scrub: (t) => t.replaceAll('SECRET', '[x]'), emit: (t) => out.push(t) });
    for (let i = 0; i < bytes.length; i += 3) relay.push(bytes.subarray(i, i + 3));
    relay.end();
    expect(out.join('')).toBe(text.replace('SECRET', '[x]'));
    expect(relay.outputText).toBe('héllo SECRET ✓');
  });

  it('does not parse content chunks when text tracking is off', () => {
    const { relay } = run([delta('Hi') + usageChunk], true, false);
    expect(relay.outputText).toBe('');
    expect(relay.meteredUsage?.completionTokens).toBe(2);
  });

  it('reads usage however the usage event is framed, and only from usage objects', () => {
    const usage = JSON.stringify({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 1 } });
    const framings = [
      `data: ${usage}\n\n`,
      `data:${usage}\r\n\r\n`,
      `event: chunk\ndata: ${usage}\n\n`,
      `data: {"choices": [],\ndata: "usage" :\r\ndata:  {"prompt_tokens": 4, "completion_tokens": 1}}\n\n`,
    ];
    for (const framing of framings) {
      const { out, relay } = run([framing], true, false);
      expect(out).toEqual([]);
      expect(relay.meteredUsage).toEqual({ promptTokens: 4, cachedTokens: 0, completionTokens: 1, reasoningTokens: 0 });
    }
    const decoys = chunk({ choices: [{ delta: { content: 'the "usage": {} field' } }], usage: null });
    const { out, relay } = run([decoys], true, false);
    expect(out).toEqual([decoys]);
    expect(relay.meteredUsage).toBeNull();
  });
});

describe('SseRelay: linear scanning and the event cap', () => {
  const collect = (maxEventBytes = 1 << 20): { out: string[]; relay: SseRelay } => {
    const out: string[] = [];
    const relay = new SseRelay({ dropInjectedUsageChunk: false, maxEventBytes, trackText: false, scrub: (t) => t, emit: (t) => out.push(t) });
    return { out, relay };
  };

  it('finds LF and CRLF boundaries split across chunks at every offset, with the same events as one chunk', () => {
    const stream = 'data: a\n\ndata: b\r\n\r\n: c\r\n\r\ndata: d\n\n\n\ndata: e\r\n\r\n';
    const { out: whole } = collect();
    const reference = collect();
    reference.relay.push(Buffer.from(stream));
    reference.relay.end();
    whole.push(...reference.out);
    expect(whole).toEqual(['data: a\n\n', 'data: b\r\n\r\n', ': c\r\n\r\n', 'data: d\n\n', '\n\n', 'data: e\r\n\r\n']);
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b += 3) {
        const { out, relay } = collect();
        for (const piece of [stream.slice(0, a), stream.slice(a, b), stream.slice(b)]) relay.push(Buffer.from(piece));
        relay.end();
        expect(out, `split at ${a}/${b}`).toEqual(whole);
      }
    }
  });

  it('relays many tiny events in one chunk and one event in many tiny chunks in linear time', () => {
    const many = collect();
    const started = performance.now();
    many.relay.push(Buffer.from('data: x\n\n'.repeat(200_000)));
    expect(many.out).toHaveLength(200_000);
    const big = collect(64 << 20);
    const piece = Buffer.alloc(1024, 0x61);
    big.relay.push(Buffer.from('data: '));
    for (let i = 0; i < 20_000; i++) expect(big.relay.push(piece)).toBe(true); // 20 MB, no boundary yet
    big.relay.push(Buffer.from('\n\n'));
    expect(big.out).toHaveLength(1);
    expect(big.out[0]?.length).toBe(6 + 20_000 * 1024 + 2);
    // A rescanning relay takes tens of seconds here; a linear one well under one.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('stops at the event cap: no more buffering or relaying, earlier events kept', () => {
    const { out, relay } = collect(1000);
    expect(relay.push(Buffer.from('data: ok\n\ndata: '))).toBe(true);
    expect(relay.push(Buffer.alloc(900, 0x61))).toBe(true);
    expect(relay.push(Buffer.alloc(200, 0x61))).toBe(false);
    expect(relay.tooLarge).toBe(true);
    expect(relay.push(Buffer.from('\n\ndata: later\n\n'))).toBe(false);
    relay.end();
    expect(out).toEqual(['data: ok\n\n']);
  });
});
