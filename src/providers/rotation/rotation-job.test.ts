import { describe, expect, it } from 'vitest';
import type { UpstreamRecord } from '../../store/index.js';
import { oldestKeyAt, rotationPeriodOf } from './rotation-job.js';

const DAY = 86_400_000;
const upstream = (keys: UpstreamRecord['keys']): UpstreamRecord => ({
  id: 'ups_1', name: 'openai', provider: 'openai', baseUrl: 'https://api.openai.com/v1', apiVersion: null, deployments: {}, keys, isDefault: true, createdAt: 1_000,
});
const config = { enabled: true, checkIntervalMs: 1_000, drainTimeoutMs: 0, upstreams: { openai: '30d' } };
const link = { provider: 'openai' as const, projectId: 'proj_1', serviceAccountId: 'svc_1', rotationMs: null, pendingDeletes: [], linkedAt: 0 };

describe('rotation period and key age', () => {
  it('the link\'s own period wins over the config\'s, which applies by upstream name', () => {
    const u = upstream([]);
    expect(rotationPeriodOf(u, link, config)).toBe(30 * DAY);
    expect(rotationPeriodOf(u, { ...link, rotationMs: 7 * DAY }, config)).toBe(7 * DAY);
    expect(rotationPeriodOf({ ...u, name: 'other' }, link, config)).toBeNull();
  });

  it('the oldest key counts; keys without a creation time date from the upstream', () => {
    expect(oldestKeyAt(upstream([{ id: 'uk_a', ciphertext: '', last4: 'aaaa', createdAt: 5_000 }, { id: 'uk_b', ciphertext: '', last4: 'bbbb', createdAt: 9_000 }]))).toBe(5_000);
    expect(oldestKeyAt(upstream([{ id: 'uk_a', ciphertext: '', last4: 'aaaa', createdAt: 5_000 }, { id: 'uk_b', ciphertext: '', last4: 'bbbb' }]))).toBe(1_000);
  });
});
