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

describe('SseRelay: whole-chunk relaying', () => {
  const SECRET = 'sk-upstream-SECRET-key';
  const scrub = (t: string): string => t.replaceAll(SECRET, '[x]');
  const clean = (b: Buffer): boolean => !b.includes(SECRET) && !b.includes(92) && !b.includes(37);

  /** What the client gets, event by event (the reference) or with whole chunks allowed, and what the relay read. */
  function relay(chunks: Buffer[], drop: boolean, whole: boolean): { bytes: Buffer; usage: unknown; wholeEmits: number } {
    const out: Buffer[] = [];
    let wholeEmits = 0;
    const r = new SseRelay({
      dropInjectedUsageChunk: drop,
      maxEventBytes: 1 << 20,
      trackText: false,
      scrub,
      emit: (t) => out.push(Buffer.from(t)),
      wholeChunks: whole
        ? {
            clean,
            emit: (b) => {
              wholeEmits++;
              out.push(Buffer.from(b));
            },
          }
        : undefined,
    });
    for (const c of chunks) r.push(c);
    r.end();
    return { bytes: Buffer.concat(out), usage: r.meteredUsage, wholeEmits };
  }

  const head = 'data: {"id":"c1","object":"chat.completion.chunk","choices":[';
  const content = (s: string): string => `${head}{"index":0,"delta":{"content":"${s}"}}],"usage":null}\n\n`;
  const usageEvent = `${head}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}\n\n`;
  const events = [
    content('Hello'),
    content(' wörld ✓'),
    usageEvent,
    'data: [DONE]\n\n',
    ': keep-alive\n\n',
    '\n\n',
    `data: {"a":1,"usage" :\t null}\n\n`,
    `data: {"choices":[],"usage":\ndata: {"prompt_tokens":2,"completion_tokens":1}}\n\n`,
    `data: {"choices":[],"usage":\nnull\ndata: {"prompt_tokens":3,"completion_tokens":1}}\n\n`,
    `event: "usage":{"x":1}\ndata: {"choices":[{"delta":{"content":"x"}}]}\n\n`,
    `data: {"usage":nul}\n\n`,
    `event: response.completed\ndata: {"type":"response.completed","response":{"id":"r","usage":{"input_tokens":5,"output_tokens":7}}}\n\n`,
  ];
  const oddities = [
    `data: {"c":"${SECRET}"}\n\n`,
    'data: {"c":"a\\nb"}\n\n',
    'data: {"x":1}\r\n\r\n',
    `data: {"usage":{"prompt_tokens":1,"completion_tokens":1},"choices":[]}\r\n\r\n`,
  ];

  it('sends the same bytes and reads the same usage as the event-by-event path, however the stream is cut', () => {
    // A small deterministic generator: the cases are the same on every run.
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let wholeUsed = 0;
    for (let round = 0; round < 400; round++) {
      const pool = round % 4 === 0 ? [...events, ...oddities] : events;
      const parts: string[] = [];
      for (let i = 0, count = 1 + next(8); i < count; i++) parts.push(pool[next(pool.length)] as string);
      const stream = Buffer.from(parts.join(''));
      // Cut on event boundaries (the usual upstream packet), at random bytes, or not at all.
      const chunks: Buffer[] = [];
      const mode = next(3);
      if (mode === 0) for (const p of parts) chunks.push(Buffer.from(p));
      else if (mode === 1) {
        for (let at = 0; at < stream.length; ) {
          const size = 1 + next(40);
          chunks.push(stream.subarray(at, at + size));
          at += size;
        }
      } else chunks.push(stream);
      for (const drop of [false, true]) {
        const reference = relay(chunks, drop, false);
        const fast = relay(chunks, drop, true);
        expect(fast.bytes.toString('latin1'), `round ${round}, drop ${drop}`).toBe(reference.bytes.toString('latin1'));
        expect(fast.usage).toEqual(reference.usage);
        wholeUsed += fast.wholeEmits;
      }
    }
    expect(wholeUsed).toBeGreaterThan(200); // the whole-chunk path was really taken, not only the fallback
  });

  it('relays a chunk of clean whole events as its own bytes, less the injected usage event', () => {
    const stream = content('Hi') + usageEvent + 'data: [DONE]\n\n';
    const { bytes, usage, wholeEmits } = relay([Buffer.from(stream)], true, true);
    expect(wholeEmits).toBe(2); // the bytes on either side of the dropped event, as two views of the chunk
    expect(bytes.toString()).toBe(content('Hi') + 'data: [DONE]\n\n');
    expect(usage).toEqual({ promptTokens: 9, cachedTokens: 0, completionTokens: 4, reasoningTokens: 0 });
  });

  it('falls back to events one by one for key material, escapes, CR framing, broken UTF-8 and partial events', () => {
    const cases = [
      Buffer.from(`data: {"c":"${SECRET}"}\n\n`),
      Buffer.from('data: {"c":"a\\nb"}\n\n'),
      Buffer.from('data: {"x":1}\r\n\r\n'),
      Buffer.concat([Buffer.from('data: {"c":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n\n')]),
      Buffer.from('data: {"x":1}\n\ndata: {"y"'),
    ];
    for (const chunk of cases) {
      const fast = relay([chunk], false, true);
      expect(fast.wholeEmits, chunk.toString('latin1')).toBe(0);
      expect(fast.bytes.equals(relay([chunk], false, false).bytes)).toBe(true);
    }
    expect(relay([cases[0] as Buffer], false, true).bytes.toString()).toBe('data: {"c":"[x]"}\n\n');
  });

  it('takes the whole-chunk path again once a partial event has been completed', () => {
    const first = relay([Buffer.from('data: {"x":'), Buffer.from('1}\n\n'), Buffer.from(content('a') + content('b'))], false, true);
    expect(first.wholeEmits).toBe(1);
    // A chunk that ends inside a multi-byte character keeps the event-by-event path until a boundary is reached.
    const euro = Buffer.from(content('€'));
    const cut = euro.indexOf(0xe2) + 1;
    const split = relay([euro.subarray(0, cut), euro.subarray(cut), Buffer.from(content('c'))], false, true);
    expect(split.bytes.toString()).toBe(content('€') + content('c'));
    expect(split.wholeEmits).toBe(1);
  });
});
