import { describe, expect, it } from 'vitest';
import { findBase64Runs, percentDecode, urlRunAround } from './decode.js';

describe('decoding', () => {
  it('finds printable base64 runs with padding and ignores binary ones', () => {
    const printable = Buffer.from('hello world, this is some text!!').toString('base64');
    const binary = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37) % 256)).toString('base64');
    const text = `a: ${printable}\nb: ${binary}\n`;
    const runs = findBase64Runs(text);
    expect(runs.map((r) => r.decoded)).toEqual(['hello world, this is some text!!']);
    expect(text.slice(runs[0]?.start, runs[0]?.end)).toBe(printable);
  });

  it('ignores runs shorter than a key', () => {
    expect(findBase64Runs(`x ${Buffer.from('short').toString('base64')} y`)).toEqual([]);
  });

  it('percent-decodes without throwing on malformed escapes', () => {
    expect(percentDecode('a%2Db%5fc%zz%')).toBe('a-b_c%zz%');
  });

  it('expands a URL run around a position', () => {
    const text = 'see https://x.test/?k=ab%2Dcd&z=1 now';
    const run = urlRunAround(text, text.indexOf('%2D'));
    expect(run.decoded).toBe('ab-cd');
  });
});
