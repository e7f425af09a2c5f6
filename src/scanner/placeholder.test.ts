import { describe, expect, it } from 'vitest';
import { PLANT_KINDS } from './corpus/providers.js';
import { FakeKeys } from './rules/fake-keys.js';
import { isPlaceholder, placeholderReason, shannonEntropy } from './placeholder.js';

describe('placeholder suppression', () => {
  it.each([
    ['xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'repeated characters'],
    ['xXxXxXaxXxXbxXxX', 'x placeholder'],
    ['your-api-key-here', 'placeholder word'],
    ['EXAMPLEabcQ9rT2mZ', 'placeholder word'],
    ['dummy_Zq8Rw3LmT0pV', 'placeholder word'],
    ['1234567890abcdefZQ', 'sequential characters'],
    ['abababababababababab', 'low entropy'],
  ])('drops %s (%s)', (body, reason) => {
    expect(placeholderReason(body)).toBe(reason);
  });

  it('keeps a real-looking body', () => {
    expect(isPlaceholder('Zq8Rw3LmT0pVy7Kd2Hs9Nf4Bx1Cj6Ga5')).toBe(false);
  });

  it('never drops a random key of any supported format (20,000 keys)', () => {
    const f = new FakeKeys(20260101);
    const dropped: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const kind = PLANT_KINDS[i % PLANT_KINDS.length];
      if (kind === undefined) continue;
      const key = kind.make(f);
      // The engine strips the vendor prefix first; stripping up to the last separator of the prefix is stricter.
      const body = key.replace(/^(?:sk-(?:proj-|svcacct-|admin-|ant-api03-|ant-admin01-|or-v1-)?|api_org_|hf_|gsk_|r8_|pplx-|xai-|tgp_v1_|fw_|nvapi-|csk-|kw_|AIza)/, '');
      if (isPlaceholder(body)) dropped.push(`${kind.ruleId}: ${placeholderReason(body) ?? ''}`);
    }
    expect(dropped).toEqual([]);
  });

  it('computes Shannon entropy in bits per character', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
  });
});

describe('hand-typed key shapes', () => {
  it.each([
    ['1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d', 'interleaved sequence'],
    ['Zq1a2b3c4d5e6fQ9', 'interleaved sequence'],
    ['a9b8c7d6e5f4g3h2', 'interleaved sequence'],
    ['abcd1234abcd1234abcd1234abcd1234', 'repeated pattern'],
    ['AbCd1234AbCd1234AbCd1234AbCd1234AbCd1234', 'repeated pattern'],
  ])('drops %s (%s)', (body, reason) => {
    expect(placeholderReason(body)).toBe(reason);
  });

  it('never drops random hex for these two reasons, where such shapes are most likely (50,000 bodies)', () => {
    const f = new FakeKeys(777);
    const dropped: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const body = f.hex(i % 2 === 0 ? 32 : 64);
      const reason = placeholderReason(body);
      if (reason === 'interleaved sequence' || reason === 'repeated pattern') dropped.push(`${body}: ${reason}`);
    }
    expect(dropped).toEqual([]);
  });
});
