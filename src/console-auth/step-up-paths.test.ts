import { describe, expect, it } from 'vitest';
import { needsStepUp } from './step-up-paths.js';

describe('step-up routes', () => {
  it('covers provider keys, users, admin tokens and provider connections; not ordinary key work', () => {
    expect(needsStepUp('POST', '/admin/v1/upstreams')).toBe(true);
    expect(needsStepUp('POST', '/admin/v1/upstreams/fake/keys')).toBe(true);
    expect(needsStepUp('POST', '/admin/v1/upstreams/fake/keys/rotate')).toBe(true);
    expect(needsStepUp('DELETE', '/admin/v1/upstreams/fake/keys/k1')).toBe(true);
    expect(needsStepUp('GET', '/admin/v1/users')).toBe(true);
    expect(needsStepUp('POST', '/admin/v1/users/usr_1/reset-mfa')).toBe(true);
    expect(needsStepUp('POST', '/admin/v1/admin-tokens')).toBe(true);
    expect(needsStepUp('POST', '/admin/v1/providers/openai/connect')).toBe(true);
    expect(needsStepUp('PATCH', '/admin/v1/upstreams/fake')).toBe(true);
    expect(needsStepUp('DELETE', '/admin/v1/upstreams/fake')).toBe(true);
    expect(needsStepUp('GET', '/admin/v1/upstreams')).toBe(false);
    expect(needsStepUp('POST', '/admin/v1/keys')).toBe(false);
    expect(needsStepUp('GET', '/admin/v1/usersx')).toBe(false);
    expect(needsStepUp('POST', '/admin/v1/upstreamsx')).toBe(false);
  });
});
