import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { normalizeRequestPath } from './normalize-path.js';

describe('normalizeRequestPath', () => {
  it('passes clean paths and keeps the query string', () => {
    expect(normalizeRequestPath('/v1/chat/completions?x=1')).toEqual({ path: '/v1/chat/completions', search: '?x=1' });
  });

  it('resolves dot segments so the authorized route is the forwarded route', () => {
    expect(normalizeRequestPath('/v1/chat/../files').path).toBe('/v1/files');
    expect(normalizeRequestPath('/v1/./models').path).toBe('/v1/models');
    expect(normalizeRequestPath('/v1//chat//completions').path).toBe('/v1/chat/completions');
  });

  it('decodes encoded traversal before resolving', () => {
    expect(normalizeRequestPath('/v1/chat/%2e%2e/fine_tuning/jobs').path).toBe('/v1/fine_tuning/jobs');
    expect(normalizeRequestPath('/v1/chat%2f..%2ffiles').path).toBe('/v1/files');
  });

  it('refuses double encoding, backslashes, control characters and escaping the root', () => {
    for (const bad of ['/v1/%252e%252e/files', '/v1\\..\\files', '/v1/%5c../files', '/v1/a%00b', '/../etc/passwd', '/v1/%zz', 'v1/models']) {
      expect(() => normalizeRequestPath(bad), bad).toThrow(KeywardenError);
    }
  });
});
