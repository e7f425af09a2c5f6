import { describe, expect, it } from 'vitest';
import {
  VIRTUAL_KEY_LENGTH,
  VIRTUAL_KEY_PATTERN,
  generateKeyId,
  generateVirtualKey,
  hasValidChecksum,
  hashVirtualKey,
  hashesEqual,
} from './virtual-key.js';
import { maskSecret } from './mask.js';

describe('virtual keys', () => {
  it('generates keys that carry a valid checksum and the documented shape', () => {
    for (let i = 0; i < 200; i++) {
      const key = generateVirtualKey();
      expect(key).toHaveLength(VIRTUAL_KEY_LENGTH);
      expect(key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
      expect(hasValidChecksum(key)).toBe(true);
      expect(key.match(VIRTUAL_KEY_PATTERN)).toEqual([key]);
    }
  });

  it('is unique across many generations', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateVirtualKey()));
    expect(keys.size).toBe(2000);
  });

  it('rejects any single-character change via the checksum', () => {
    const key = generateVirtualKey();
    let rejected = 0;
    for (let i = 3; i < key.length; i++) {
      const replacement = key[i] === 'a' ? 'b' : 'a';
      const tampered = key.slice(0, i) + replacement + key.slice(i + 1);
      if (!hasValidChecksum(tampered)) rejected++;
    }
    expect(rejected).toBe(key.length - 3);
  });

  it('rejects wrong prefix, length and alphabet', () => {
    const key = generateVirtualKey();
    expect(hasValidChecksum(key.replace('kw_', 'kx_'))).toBe(false);
    expect(hasValidChecksum(key.slice(0, -1))).toBe(false);
    expect(hasValidChecksum(`${key}0`)).toBe(false);
    expect(hasValidChecksum(`kw_${'-'.repeat(38)}`)).toBe(false);
    expect(hasValidChecksum('')).toBe(false);
  });

  it('hashes with a pepper so the same key under another pepper differs', () => {
    const key = generateVirtualKey();
    const a = hashVirtualKey(key, Buffer.alloc(32, 1));
    const b = hashVirtualKey(key, Buffer.alloc(32, 2));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(hashesEqual(a, hashVirtualKey(key, Buffer.alloc(32, 1)))).toBe(true);
    expect(hashesEqual(a, b)).toBe(false);
    expect(a).not.toContain(key);
  });

  it('makes public key ids', () => {
    expect(generateKeyId()).toMatch(/^key_[0-9A-Za-z]{16}$/);
  });
});

describe('maskSecret', () => {
  it('keeps only the vendor prefix and the last 4 characters', () => {
    const key = generateVirtualKey();
    expect(maskSecret(key)).toBe(`kw_…${key.slice(-4)}`);
    expect(maskSecret('sk-proj-abcdefghijklmnopqrstuvwxyz1234')).toBe('sk-proj-…1234');
    expect(maskSecret('AIzaSyA1234567890abcdefghijklmnopqrstu')).toBe('AIza…rstu');
    // Separators inside a random body are not mistaken for part of the prefix.
    expect(maskSecret('sk-proj-z_Ab-cdefghijklmnopqrstuvwxyz')).toBe('sk-proj-…wxyz');
    expect(maskSecret('0123456789abcdef0123456789abcdef')).toBe('0123…cdef');
  });

  it('reveals nothing of short strings', () => {
    expect(maskSecret('short-secret')).toBe('****');
  });
});
