import { describe, expect, it } from 'vitest';
import { matchesRedacted, parseRedacted } from './redacted-match.js';

const secret = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789wxyz';

describe('redacted value matching', () => {
  it('reads the shapes OpenAI uses: dots, stars, an ellipsis', () => {
    expect(parseRedacted('sk-abc...wxyz')).toEqual({ prefix: 'sk-abc', suffix: 'wxyz' });
    expect(parseRedacted('sk-proj-****wxyz')).toEqual({ prefix: 'sk-proj-', suffix: 'wxyz' });
    expect(parseRedacted('sk-proj-Ab…wxyz')).toEqual({ prefix: 'sk-proj-Ab', suffix: 'wxyz' });
  });

  it('matches only a secret with that prefix and suffix, longer than both', () => {
    expect(matchesRedacted(secret, parseRedacted('sk-proj-Ab...wxyz'))).toBe(true);
    expect(matchesRedacted(secret, parseRedacted('sk-proj-Ab...wxyZ'))).toBe(false);
    expect(matchesRedacted(secret, parseRedacted('sk-proj-Xb...wxyz'))).toBe(false);
    expect(matchesRedacted('sk-proj-wxyz', parseRedacted('sk-proj-...wxyz'))).toBe(false);
  });

  it('refuses redacted values that say too little or are malformed, so they match nothing', () => {
    for (const bad of ['', 'sk-proj-AbCdwxyz', '...wxyz', 'sk-...xyz', 'sk-...wx..yz', '****', 'sk-proj-...']) {
      expect(parseRedacted(bad)).toBeNull();
      expect(matchesRedacted(secret, parseRedacted(bad))).toBe(false);
    }
  });
});
