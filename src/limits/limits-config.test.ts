import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../config/load.js';

describe('limits config', () => {
  it('defaults to in-process limits, failing closed', () => {
    const { limits } = parseConfig({});
    expect(limits).toEqual({ failOpen: false, redis: { keyPrefix: 'kw:', leaseMs: 30_000, commandTimeoutMs: 1000 } });
  });

  it('takes the Redis URL from KEYWARDEN_REDIS_URL over the file', async () => {
    const config = await loadConfig({ cwd: '/', env: { KEYWARDEN_REDIS_URL: 'rediss://cache.internal:6380/2' } });
    expect(config.limits.redis.url).toBe('rediss://cache.internal:6380/2');
  });

  it('rejects a non-Redis URL, an unknown key and a lease too short to renew, all at once, without echoing the URL', () => {
    let message = '';
    try {
      parseConfig({ limits: { failOpen: 'yes', redis: { url: 'http://user:hunter2secret@cache:6379', leaseMs: 10, extra: 1 } } });
    } catch (err) {
      message = String(err);
    }
    expect(message).toContain('limits.redis.url');
    expect(message).toContain('limits.redis.leaseMs');
    expect(message).toContain('limits.failOpen');
    expect(message).toContain('extra');
    expect(message).not.toContain('hunter2secret');
  });
});
