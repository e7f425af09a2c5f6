import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { globWithin, narrowScopes, rangeWithin } from './child-scope.js';

describe('child scopes narrow only', () => {
  it('accepts a model glob only when it is provably within the parent glob', () => {
    const within: Array<[string, string]> = [
      ['gpt-4o-mini', '*'],
      ['anything*', '*'],
      ['gpt-4o-mini', 'gpt-4o*'],
      ['gpt-4o-mini*', 'gpt-4o*'],
      ['gpt-4o?', 'gpt-4o*'],
      ['gpt-4o-mini', 'gpt-4o-mini'],
      ['gpt-4o-mini', 'gpt-4o-?ini'],
    ];
    for (const [child, parent] of within) expect(globWithin(child, parent), `${child} ⊆ ${parent}`).toBe(true);
    const outside: Array<[string, string]> = [
      ['gpt-4o', 'gpt-4o-mini'],
      ['gpt-4*', 'gpt-4o*'],
      ['*', 'gpt-4o*'],
      ['gpt-4o*', 'gpt-4o'],
      ['*mini', 'gpt-*'],
      // Possibly within, but not provably: refused.
      ['gpt-4o-m*', 'gpt-4o-?ini*'],
      ['gpt-4o-mini*', '*-mini*'],
      ['gpt-4o-mini', 'gpt-4.1*'],
    ];
    for (const [child, parent] of outside) expect(globWithin(child, parent), `${child} ⊄ ${parent}`).toBe(false);
  });

  it('accepts an IP range only inside a parent range of the same family', () => {
    expect(rangeWithin('10.1.0.0/16', '10.0.0.0/8')).toBe(true);
    expect(rangeWithin('10.1.2.3', '10.0.0.0/8')).toBe(true);
    expect(rangeWithin('10.0.0.0/8', '10.0.0.0/8')).toBe(true);
    expect(rangeWithin('10.0.0.0/7', '10.0.0.0/8')).toBe(false);
    expect(rangeWithin('11.0.0.1', '10.0.0.0/8')).toBe(false);
    expect(rangeWithin('::ffff:10.0.0.1', '10.0.0.0/8')).toBe(false);
    expect(rangeWithin('2001:db8::1', '2001:db8::/32')).toBe(true);
    expect(rangeWithin('2001:db9::1', '2001:db8::/32')).toBe(false);
  });

  it('inherits what is not asked for and refuses every widening with the offending param', () => {
    const parent = { models: ['gpt-4o*'], endpoints: ['chat', 'embeddings'], ipAllowlist: ['10.0.0.0/8'], maxBodyBytes: 1000 };
    expect(narrowScopes(parent, {})).toEqual(parent);
    const attempts: Array<[Parameters<typeof narrowScopes>[1], string]> = [
      [{ models: [] }, 'models'],
      [{ models: ['gpt-4.1'] }, 'models'],
      [{ endpoints: ['*'] }, 'endpoints'],
      [{ endpoints: ['files'] }, 'endpoints'],
      [{ ip_allowlist: [] }, 'ip_allowlist'],
      [{ ip_allowlist: ['0.0.0.0/0'] }, 'ip_allowlist'],
      [{ max_body_bytes: 1001 }, 'max_body_bytes'],
    ];
    for (const [asked, param] of attempts) {
      let caught: unknown = null;
      try {
        narrowScopes(parent, asked);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(asked)).toBeInstanceOf(KeywardenError);
      expect((caught as KeywardenError).param).toBe(param);
    }
    // A parent without restrictions lets the child choose freely, and the child's choice sticks.
    const open = { models: [], endpoints: ['*'], ipAllowlist: [], maxBodyBytes: null };
    expect(narrowScopes(open, { models: ['gpt-4o-mini'], endpoints: ['files'], ip_allowlist: ['10.0.0.1'] })).toMatchObject({
      models: ['gpt-4o-mini'],
      endpoints: ['files'],
      ipAllowlist: ['10.0.0.1'],
    });
  });
});
