import { describe, expect, it } from 'vitest';
import { scanText } from '../engine/engine.js';
import { ALL_RULES } from './index.js';

describe('rule fixtures', () => {
  it('has unique ids, a docs link and fixtures of both kinds for every rule', () => {
    expect(new Set(ALL_RULES.map((r) => r.id)).size).toBe(ALL_RULES.length);
    for (const rule of ALL_RULES) {
      expect(rule.docsUrl).toMatch(/^https:\/\//);
      const { positive, negative } = rule.fixtures();
      expect(positive.length, rule.id).toBeGreaterThan(0);
      expect(negative.length, rule.id).toBeGreaterThan(0);
      // Each rule keeps at least five negatives, most of them real-world look-alikes.
      expect(negative.length, rule.id).toBeGreaterThanOrEqual(5);
    }
  });

  for (const rule of ALL_RULES) {
    describe(rule.id, () => {
      const { positive, negative } = rule.fixtures();
      it.each(positive.map((text, i) => [i, text]))('reports positive fixture %i', (_i, text) => {
        const findings = scanText(text, { path: 'fixture.txt' });
        expect(findings.map((f) => f.ruleId)).toEqual([rule.id]);
        // The captured secret is the whole key, never a piece of the surrounding text.
        const secret = findings[0]?.secret ?? '';
        expect(text).toContain(secret);
        const after = text[text.indexOf(secret) + secret.length];
        expect(after === undefined || !/[A-Za-z0-9]/.test(after)).toBe(true);
      });
      it.each(negative.map((text, i) => [i, text]))('ignores negative fixture %i', (_i, text) => {
        expect(scanText(text, { path: 'fixture.txt' }).filter((f) => f.ruleId === rule.id)).toEqual([]);
      });
    });
  }
});
