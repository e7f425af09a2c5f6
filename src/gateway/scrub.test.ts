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
