import { describe, expect, it } from 'vitest';
import { SCRUBBED, createScrubber } from './scrub.js';

describe('scrubber', () => {
  const key = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
  const scrub = createScrubber([key]);

  it('removes exact key occurrences from any body', () => {
    expect(scrub.any(`a ${key} b ${key}`)).toBe(`a ${SCRUBBED} b ${SCRUBBED}`);
    expect(scrub.any('nothing here')).toBe('nothing here');
  });

  it('removes partial key echoes from error bodies', () => {
    const message = 'Incorrect API key provided: sk-proj-****6789. You can find your API key at https://platform.openai.com/account/api-keys.';
    const out = scrub.error(message);
    expect(out).not.toContain('6789');
    expect(out).toContain(SCRUBBED);
    expect(scrub.error('azure key 0123456789abcdef0123456789abcdef rejected')).not.toContain('0123456789abcdef0123456789abcdef');
  });
});

describe('scrubber: escaped forms, headers and streams', () => {
  const key = 'sk-proj-Ab_Cd-EfGhIjKlMnOpQrStUvWxYz0123456789';
  const scrub = createScrubber([key, 'short']);
  const u = (text: string): string => [...text].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  const pct = (text: string): string => [...text].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join('');
  const dec = (text: string): string => [...text].map((ch) => `&#${ch.charCodeAt(0)};`).join('');
  const hexRef = (text: string): string => [...text].map((ch) => `&#x${ch.charCodeAt(0).toString(16).padStart(7, '0')};`).join('');
  const jsHex = (text: string): string => [...text].map((ch) => `\\x${ch.charCodeAt(0).toString(16)}`).join('');
  const forms = [
    key,
    u(key),
    u(key).toUpperCase().replaceAll('\\U', '\\u'),
    pct(key),
    [...key].map((c, i) => (i % 3 === 0 ? u(c) : i % 3 === 1 ? pct(c) : c)).join(''),
    dec(key),
    hexRef(key),
    jsHex(key),
    [...key].map((c, i) => (i % 2 === 0 ? dec(c) : jsHex(c))).join(''),
  ];

  it('replaces JSON-escaped, percent-encoded and mixed forms, and leaves ordinary escapes alone', () => {
    for (const form of forms) expect(scrub.any(`{"a":"x ${form} y"}`)).toBe(`{"a":"x ${SCRUBBED} y"}`);
    const ordinary = '{"a":"line\\nbreak \\u00e9 50% \\/ path &amp; &#233; &#x41","b":"sk-proj-not-the-key"}';
    expect(scrub.any(ordinary)).toBe(ordinary);
    expect(scrub.any('short is not a secret')).toBe('short is not a secret'); // under 8 characters
  });

  it('redacts a key behind an escaped backslash from that backslash, so the JSON still parses', () => {
    // The text `\u0073k-…`: not the key, but the key less its first letter, so it is redacted all the same.
    const lookalike = JSON.stringify({ a: `odd \\u0073${key.slice(1)} end` });
    expect(JSON.parse(scrub.any(lookalike))).toEqual({ a: `odd ${SCRUBBED} end` });
    // An escaped backslash, then the key escaped: the backslash stays, and the key goes.
    const behind = `{"a":"odd \\\\\\u0073${key.slice(1)} end"}`;
    expect(JSON.parse(behind)).toEqual({ a: `odd \\${key} end` });
    expect(JSON.parse(scrub.any(behind))).toEqual({ a: `odd \\${SCRUBBED} end` });
  });

  it('scrubs header values, single and repeated', () => {
    const list = ['x-a', key, 'x-b', `1 ${pct(key)}`, 'x-b', '2', 'content-type', 'text/plain', key, 'a name is not a value'];
    scrub.headerValues(list);
    expect(list).toEqual(['x-a', SCRUBBED, 'x-b', `1 ${SCRUBBED}`, 'x-b', '2', 'content-type', 'text/plain', key, 'a name is not a value']);
  });

  it('catches every form split across two stream chunks at every offset, text and binary', () => {
    for (const form of forms) {
      const body = Buffer.from(`head ${form} tail`);
      for (let at = 0; at <= body.length; at++) {
        const stream = scrub.stream(true);
        const out = Buffer.concat([stream.push(body.subarray(0, at)), stream.push(body.subarray(at)), stream.end()]).toString();
        expect(out, `${form.slice(0, 12)} split at ${at}`).toBe(`head ${SCRUBBED} tail`);
      }
    }
    const binary = Buffer.concat([Buffer.from([0, 255, 128]), Buffer.from(key), Buffer.from([7, 8])]);
    for (let at = 0; at <= binary.length; at++) {
      const stream = scrub.stream(false);
      const out = Buffer.concat([stream.push(binary.subarray(0, at)), stream.push(binary.subarray(at)), stream.end()]);
      expect(out.equals(Buffer.concat([Buffer.from([0, 255, 128]), Buffer.from(SCRUBBED), Buffer.from([7, 8])]))).toBe(true);
    }
  });

  it('passes non-ASCII bytes through a stream unchanged', () => {
    const text = Buffer.from('héllo ✓ 日本語 '.repeat(500));
    const stream = scrub.stream(true);
    const parts: Buffer[] = [];
    for (let i = 0; i < text.length; i += 7) parts.push(stream.push(text.subarray(i, i + 7)));
    parts.push(stream.end());
    expect(Buffer.concat(parts).equals(text)).toBe(true);
  });

  it('scans a large body full of escapes in linear time', () => {
    const body = `${'\\u0061'.repeat(500_000)}${'%41'.repeat(500_000)}${u(key)}`;
    const started = performance.now();
    expect(scrub.any(body).endsWith(SCRUBBED)).toBe(true);
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});
