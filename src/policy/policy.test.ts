import { describe, expect, it } from 'vitest';
import { createClientIpResolver } from './client-ip.js';
import { endpointGroupOf, isGroup, isGroupGranted } from './endpoint-groups.js';
import { compileIpAllowlist, isValidRange } from './ip-allowlist.js';
import { compileModelGlobs } from './model-glob.js';
import { compileScopes, defaultScopes } from './scopes.js';

describe('model globs', () => {
  it('matches * and ? and treats dots literally', () => {
    const m = compileModelGlobs(['gpt-4o-mini', 'gpt-4.1*', 'o?-mini']);
    expect(m.allows('gpt-4o-mini')).toBe(true);
    expect(m.allows('gpt-4.1')).toBe(true);
    expect(m.allows('gpt-4.1-nano')).toBe(true);
    expect(m.allows('gpt-4x1')).toBe(false);
    expect(m.allows('o3-mini')).toBe(true);
    expect(m.allows('gpt-4o')).toBe(false);
    expect(m.allows('gpt-4o-mini-2024')).toBe(false);
    expect(compileModelGlobs([]).allows('anything')).toBe(true);
  });
});

describe('endpoint groups', () => {
  it('maps paths to groups, unknown segments to their own group', () => {
    expect(endpointGroupOf('/v1/chat/completions')).toBe('chat');
    expect(endpointGroupOf('/v1/images/generations')).toBe('images');
    expect(endpointGroupOf('/v1/threads/abc/runs')).toBe('assistants');
    expect(endpointGroupOf('/v1/fine_tuning/jobs')).toBe('fine_tuning');
    expect(endpointGroupOf('/v1/containers')).toBe('containers');
    expect(endpointGroupOf('/v1/models')).toBe('models');
    expect(endpointGroupOf('/v1')).toBe('');
    expect(endpointGroupOf('/v1/')).toBe('');
  });

  it('never maps a segment named like an Object.prototype member to anything but itself', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(endpointGroupOf(`/v1/${name}`)).toBe(name);
      expect(endpointGroupOf(`/v1/${name}/x`)).toBe(name);
    }
  });

  it('keeps opt-in groups off by default and honours *', () => {
    const granted = defaultScopes().endpoints;
    expect(isGroupGranted(granted, 'chat')).toBe(true);
    for (const group of ['files', 'fine_tuning', 'batches', 'assistants', 'vector_stores', 'uploads', 'realtime', 'videos', 'evals', 'containers', 'skills']) {
      expect(isGroupGranted(granted, group)).toBe(false);
    }
    expect(isGroupGranted(['*'], 'fine_tuning')).toBe(true);
  });

  it("never grants the provider's administration, not even to *", () => {
    for (const group of ['organization', 'Organization', 'ORGANIZATION']) {
      expect(isGroupGranted(['*'], group)).toBe(false);
      expect(isGroupGranted(['*', group], group)).toBe(false);
    }
    expect(endpointGroupOf('/v1/organization/admin_api_keys')).toBe('organization');
  });

  it('tells a group in any letter case, and only that group', () => {
    expect(isGroup('realtime', 'realtime')).toBe(true);
    expect(isGroup('Realtime', 'realtime')).toBe(true);
    expect(isGroup('REALTIME', 'realtime')).toBe(true);
    expect(isGroup('realtimes', 'realtime')).toBe(false);
    expect(isGroup('realtim', 'realtime')).toBe(false);
    expect(isGroup('responses', 'realtime')).toBe(false);
  });
});

describe('IP allowlist', () => {
  it('matches IPv4 and IPv6 CIDRs, single IPs and IPv4-mapped IPv6 peers', () => {
    const m = compileIpAllowlist(['10.0.0.0/8', '2001:db8::/32', '192.168.1.7']);
    expect(m.allows('10.1.2.3')).toBe(true);
    expect(m.allows('::ffff:10.1.2.3')).toBe(true);
    expect(m.allows('11.0.0.1')).toBe(false);
    expect(m.allows('2001:db8::1')).toBe(true);
    expect(m.allows('2001:db9::1')).toBe(false);
    expect(m.allows('192.168.1.7')).toBe(true);
    expect(m.allows('192.168.1.8')).toBe(false);
    expect(m.allows('not-an-ip')).toBe(false);
    expect(compileIpAllowlist([]).allows('1.2.3.4')).toBe(true);
  });

  it('validates ranges', () => {
    expect(isValidRange('10.0.0.0/8')).toBe(true);
    expect(isValidRange('::1')).toBe(true);
    expect(isValidRange('10.0.0.0/33')).toBe(false);
    expect(isValidRange('bogus')).toBe(false);
  });
});

describe('client IP resolution', () => {
  it('ignores X-Forwarded-For from untrusted peers', () => {
    const resolve = createClientIpResolver([]);
    expect(resolve('::ffff:127.0.0.1', '10.9.9.9')).toBe('127.0.0.1');
  });

  it('takes the rightmost untrusted hop behind trusted proxies', () => {
    const resolve = createClientIpResolver(['127.0.0.1', '10.0.0.0/8']);
    expect(resolve('127.0.0.1', '6.6.6.6, 203.0.113.9, 10.0.0.5')).toBe('203.0.113.9');
    expect(resolve('127.0.0.1', undefined)).toBe('127.0.0.1');
    expect(resolve('198.51.100.1', '203.0.113.9')).toBe('198.51.100.1');
  });
});

describe('compiled scopes', () => {
  it('combines model, endpoint and IP checks', () => {
    const scopes = compileScopes({ models: ['gpt-4o*'], endpoints: ['chat'], ipAllowlist: ['::1'], maxBodyBytes: 10 });
    expect(scopes.models.allows('gpt-4o-mini')).toBe(true);
    expect(scopes.allowsEndpoint('embeddings')).toBe(false);
    expect(scopes.ips.allows('::1')).toBe(true);
    expect(scopes.maxBodyBytes).toBe(10);
  });
});
