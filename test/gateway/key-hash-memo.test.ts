import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateVirtualKey, hashVirtualKey } from '../../src/keys/index.js';
import { identify } from '../../src/gateway/authenticate.js';
import { KeyHashMemo } from '../../src/gateway/key-hash-memo.js';
import type { KeyRepository, VirtualKeyRecord } from '../../src/store/index.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

const PEPPER = Buffer.alloc(32, 7);

/** A key repository over a map of hash → record that counts its lookups. */
function countingRepo(records: Map<string, VirtualKeyRecord>): { repo: KeyRepository; lookups: () => number } {
  let lookups = 0;
  const repo = {
    findByHash: (hash: string) => {
      lookups++;
      return Promise.resolve(records.get(hash) ?? null);
    },
  } as unknown as KeyRepository;
  return { repo, lookups: () => lookups };
}

describe('KeyHashMemo', () => {
  it('answers the same hash as computing it, for remembered and new secrets alike', () => {
    const memo = new KeyHashMemo(PEPPER);
    const a = generateVirtualKey();
    const b = generateVirtualKey();
    memo.remember(a, memo.compute(a));
    expect(memo.remembered(a)).toBe(hashVirtualKey(a, PEPPER));
    // A secret that differs from a remembered one is hashed afresh, never answered with a neighbour's hash.
    // The neighbour differs in its last character only (never equal to `a`, whatever `a` ends with).
    const neighbour = `${a.slice(0, -1)}${a.endsWith('x') ? 'y' : 'x'}`;
    expect(neighbour).not.toBe(a);
    for (const other of [b, neighbour]) {
      expect(memo.remembered(other)).toBeUndefined();
      expect(memo.compute(other)).toBe(hashVirtualKey(other, PEPPER));
    }
  });

  it('stays within its bound however many keys are presented', () => {
    const memo = new KeyHashMemo(PEPPER, 8);
    for (let i = 0; i < 100; i++) {
      const secret = generateVirtualKey();
      memo.remember(secret, memo.compute(secret));
      expect(memo.size).toBeLessThanOrEqual(8);
    }
  });

  it('is keyed by pepper: another gateway with another pepper computes its own hashes', () => {
    const secret = generateVirtualKey();
    const one = new KeyHashMemo(PEPPER);
    const other = new KeyHashMemo(Buffer.alloc(32, 9));
    one.remember(secret, one.compute(secret));
    expect(other.remembered(secret)).toBeUndefined();
    expect(other.compute(secret)).toBe(hashVirtualKey(secret, Buffer.alloc(32, 9)));
    expect(other.compute(secret)).not.toBe(one.remembered(secret));
  });
});

describe('identify with the memo', () => {
  it('remembers only secrets that matched a key, and still looks the key up on every request', async () => {
    const secret = generateVirtualKey();
    const record = { id: 'key_1' } as VirtualKeyRecord;
    const { repo, lookups } = countingRepo(new Map([[hashVirtualKey(secret, PEPPER), record]]));
    const memo = new KeyHashMemo(PEPPER);
    // Made-up keys with a valid checksum are refused and leave nothing behind.
    for (let i = 0; i < 20; i++) {
      await expect(identify({ authorization: `Bearer ${generateVirtualKey()}` }, repo, memo)).rejects.toMatchObject({ code: 'KW_INVALID_API_KEY' });
    }
    expect(memo.size).toBe(0);
    for (let i = 0; i < 5; i++) {
      const found = await identify({ authorization: `Bearer ${secret}` }, repo, memo);
      expect(found.record).toBe(record);
      expect(found.hash).toBe(hashVirtualKey(secret, PEPPER));
    }
    expect(memo.size).toBe(1);
    // The verdict is never cached: 20 refusals + 5 successes = 25 lookups.
    expect(lookups()).toBe(25);
  });

  it('refuses a remembered secret as soon as its key is gone from the store', async () => {
    const secret = generateVirtualKey();
    const records = new Map([[hashVirtualKey(secret, PEPPER), { id: 'key_1' } as VirtualKeyRecord]]);
    const { repo } = countingRepo(records);
    const memo = new KeyHashMemo(PEPPER);
    await identify({ authorization: `Bearer ${secret}` }, repo, memo);
    records.clear();
    await expect(identify({ authorization: `Bearer ${secret}` }, repo, memo)).rejects.toMatchObject({ code: 'KW_INVALID_API_KEY' });
  });
});

describe('a memoised key through the gateway (SDK)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const chat = (key: string): Promise<unknown> =>
    h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

  async function warm(key: string): Promise<void> {
    for (let i = 0; i < 3; i++) await chat(key);
  }

  it('refuses a revoked key on its next request after many served ones', async () => {
    const { id, key } = await h.createKey();
    await warm(key);
    expect((await h.admin('POST', `/keys/${id}/revoke`, {})).status).toBe(200);
    const err = await apiErrorOf(chat(key));
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe('key_revoked');
  });

  it('refuses the old secret of a key rotated without grace, and serves the new one', async () => {
    const { id, key } = await h.createKey();
    await warm(key);
    const rotated = await h.admin<{ key: string }>('POST', `/keys/${id}/rotate`, {});
    expect((await apiErrorOf(chat(key))).code).toBe('invalid_api_key');
    await warm(rotated.body.key);
    // Serving the new secret does not bring the old one back.
    expect((await apiErrorOf(chat(key))).code).toBe('invalid_api_key');
  });

  it('refuses a suspended key and serves it again once unsuspended', async () => {
    const { id, key } = await h.createKey();
    await warm(key);
    expect((await h.admin('POST', `/keys/${id}/suspend`, { reason: 'test' })).status).toBe(200);
    expect((await apiErrorOf(chat(key))).code).toBe('key_suspended');
    expect((await h.admin('POST', `/keys/${id}/unsuspend`, {})).status).toBe(200);
    await chat(key);
  });

  it('refuses a rotated secret once its grace period ends, although it was served (and remembered) during it', async () => {
    const { id, key } = await h.createKey();
    await h.admin('POST', `/keys/${id}/rotate`, { grace: '1h' });
    await warm(key);
    h.clock.advance(60 * 60 * 1000 + 1);
    expect((await apiErrorOf(chat(key))).code).toBe('invalid_api_key');
  });
});
