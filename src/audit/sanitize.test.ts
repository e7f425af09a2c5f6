import { describe, expect, it } from 'vitest';
import { generateVirtualKey, maskSecret } from '../keys/index.js';
import { generateAdminTokenSecret } from '../keys/admin-token-format.js';
import { sanitizeSummary } from './sanitize.js';

describe('sanitizeSummary', () => {
  it('drops hashes and ciphertext and masks secret-named fields, keeping public ids', () => {
    const secret = generateVirtualKey();
    const summary = sanitizeSummary({
      id: 'key_abc',
      keyId: 'key_abc',
      name: 'billing',
      hash: 'a'.repeat(64),
      previousHash: 'b'.repeat(64),
      key: secret,
      upstream_api_key: 'sk-proj-abcdefghijklmnopqrstuvwxyz0123',
      adminToken: 'kwadm_' + 'x'.repeat(40),
      keys: [{ id: 'uk_1', ciphertext: 'v1.deadbeef', last4: 'wxyz' }],
      scopes: { models: ['gpt-4o*'] },
      promptTokens: 12,
    });
    expect(summary).toEqual({
      id: 'key_abc',
      keyId: 'key_abc',
      name: 'billing',
      key: maskSecret(secret),
      upstream_api_key: 'sk-proj-…0123',
      adminToken: maskSecret('kwadm_' + 'x'.repeat(40)),
      keys: [{ id: 'uk_1', last4: 'wxyz' }],
      scopes: { models: ['gpt-4o*'] },
      promptTokens: 12,
    });
    expect(JSON.stringify(summary)).not.toContain(secret);
  });

  it('masks secrets by shape even under innocent field names', () => {
    const secret = generateVirtualKey();
    const summary = sanitizeSummary({ note: `leaked ${secret} in repo`, header: 'Bearer abcdefghijklmnopqrstuvwxyz' });
    expect(JSON.stringify(summary)).not.toContain(secret);
    expect(summary?.note).toBe(`leaked ${maskSecret(secret)} in repo`);
    expect(summary?.header).not.toContain('abcdefghijklmnopqrstuvwxyz');
  });

  it('masks checksummed admin tokens (kwadm_ + 46) in free text, whole', () => {
    const token = generateAdminTokenSecret();
    const summary = sanitizeSummary({ note: `pasted ${token} here` });
    expect(JSON.stringify(summary)).not.toContain(token.slice(6, 40));
    expect(summary?.note).toBe(`pasted ${maskSecret(token)} here`);
  });

  it('turns non-JSON values into JSON and bounds the size', () => {
    const summary = sanitizeSummary({
      at: new Date(0),
      big: 10n,
      nan: Number.NaN,
      fn: () => 1,
      skip: undefined,
      buf: Buffer.from('secret'),
      long: 'x'.repeat(5_000),
      list: Array.from({ length: 150 }, (_, i) => i),
    });
    expect(summary?.at).toBe('1970-01-01T00:00:00.000Z');
    expect(summary?.big).toBe('10');
    expect(summary?.nan).toBeNull();
    expect(summary).not.toHaveProperty('fn');
    expect(summary).not.toHaveProperty('skip');
    expect(summary?.buf).toBe('[binary]');
    expect((summary?.long as string).length).toBe(1_001);
    expect((summary?.list as unknown[]).length).toBe(101);
    expect(sanitizeSummary(undefined)).toBeNull();
    expect(sanitizeSummary('plain')).toEqual({ value: 'plain' });
  });
});
