// The console key form's text fields, parsed in the browser before the admin API sees them: hostile and
// ambiguous lines are refused with the line's number, never silently dropped or half-applied.
import { describe, expect, it } from 'vitest';
import { metadataText, modelRulesText, parseMetadata, parseModelRules } from '../../console/src/screens/key-rules.js';

describe('model rules', () => {
  it('parses patterns with colons, deny, and every limit; blank lines and spaces do not matter', () => {
    expect(parseModelRules('gpt-4o*: rpm=10, tpm=20000\n\n  ft:gpt-4o:acme : RPD=5 \r\no1*: deny')).toEqual([
      { match: 'gpt-4o*', rpm: 10, tpm: 20000 },
      { match: 'ft:gpt-4o:acme', rpd: 5 },
      { match: 'o1*', deny: true },
    ]);
    expect(parseModelRules('')).toEqual([]);
  });

  it.each([
    ['no colon', 'gpt-4o rpm=10', 'line 1'],
    ['empty pattern', ': rpm=5', 'line 1'],
    ['pattern with a space', 'gpt 4o: rpm=5', 'line 1'],
    ['nothing after the colon', 'gpt-4o:', 'line 1'],
    ['unknown limit', 'gpt-4o: rph=5', 'rph=5'],
    ['zero', 'gpt-4o: rpm=0', 'rpm=0'],
    ['negative', 'gpt-4o: rpm=-3', 'rpm=-3'],
    ['fraction', 'gpt-4o: rpm=1.5', 'rpm=1.5'],
    ['exponent', 'gpt-4o: rpm=1e3', 'rpm=1e3'],
    ['beyond safe integers', 'gpt-4o: tpm=99999999999999999999', 'tpm='],
    ['two equals signs', 'gpt-4o: rpm=5=6', 'rpm=5=6'],
    ['a limit given twice', 'gpt-4o: rpm=5, rpm=6', 'twice'],
    ['a repeated pattern (dead line)', 'gpt-4o: rpm=5\nother: deny\ngpt-4o: deny', 'line 3'],
    ['a huge pattern', `${'a'.repeat(201)}: deny`, '200'],
  ])('refuses %s, naming the problem', (_what, text, named) => {
    expect(() => parseModelRules(text)).toThrow(named);
  });

  it('refuses more than 50 rules and round-trips what it shows', () => {
    expect(() => parseModelRules(Array.from({ length: 51 }, (_, i) => `m${i}: deny`).join('\n'))).toThrow('at most 50');
    const rules = parseModelRules('gpt-4o*: deny, rpm=1\nft:x:y: rpd=2, tpm=3');
    expect(parseModelRules(modelRulesText(rules))).toEqual(rules);
  });
});

describe('metadata tags', () => {
  it('splits at the first =, keeps = in values, and keeps a __proto__ tag as a plain entry', () => {
    const tags = parseMetadata('team=search\nquery=a=b\n__proto__=x\n  spaced  =  value  ');
    expect(Object.getPrototypeOf(tags)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(tags))).toEqual({ team: 'search', query: 'a=b', ['__proto__']: 'x', spaced: 'value' });
    expect(parseMetadata(metadataText(tags))).toEqual(tags);
  });

  it.each([
    ['no =', 'team', 'line 1'],
    ['empty name', '=x', 'line 1'],
    ['a repeated name', 'a=1\nb=2\na=3', 'line 3'],
    ['a value over 500 characters', `a=${'v'.repeat(501)}`, '500'],
  ])('refuses %s', (_what, text, named) => {
    expect(() => parseMetadata(text)).toThrow(named);
  });

  it('refuses more than 50 tags', () => {
    expect(() => parseMetadata(Array.from({ length: 51 }, (_, i) => `t${i}=v`).join('\n'))).toThrow('at most 50');
  });
});
