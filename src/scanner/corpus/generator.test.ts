import { describe, expect, it } from 'vitest';
import { scanText } from '../engine/engine.js';
import { ALL_RULES } from '../rules/index.js';
import { generateCorpus } from './generator.js';

describe('corpus generator', () => {
  const corpus = [...generateCorpus({ seed: 11, files: 400, totalBytes: 2_000_000, plantRate: 0.6 })];

  it('is reproducible from its seed', () => {
    const again = [...generateCorpus({ seed: 11, files: 400, totalBytes: 2_000_000, plantRate: 0.6 })];
    expect(again.map((f) => f.content)).toEqual(corpus.map((f) => f.content));
    const other = [...generateCorpus({ seed: 12, files: 5, totalBytes: 20_000 })];
    expect(other[0]?.content).not.toBe(corpus[0]?.content);
  });

  it('plants every rule in every realistic format', () => {
    const planted = corpus.flatMap((f) => f.planted);
    expect(new Set(planted.map((p) => p.ruleId))).toEqual(new Set(ALL_RULES.map((r) => r.id)));
    const formats = new Set(corpus.filter((f) => f.planted.length > 0).map((f) => f.path.split('/').pop()?.split('-')[0]));
    expect(formats).toEqual(new Set(['env', 'json', 'yaml', 'py', 'ts', 'ipynb', 'k8s', 'md']));
  });

  it('is scanned with 100% recall and 100% precision', () => {
    const missed: string[] = [];
    const extra: string[] = [];
    for (const file of corpus) {
      const findings = scanText(file.content, { path: file.path });
      const found = new Set(findings.map((f) => `${f.ruleId} ${f.secret}`));
      const want = new Set(file.planted.map((p) => `${p.ruleId} ${p.secret}`));
      for (const w of want) if (!found.has(w)) missed.push(`${file.path}: ${w.split(' ')[0] ?? ''}`);
      for (const g of found) if (!want.has(g)) extra.push(`${file.path}: ${g.split(' ')[0] ?? ''}`);
    }
    expect(missed).toEqual([]);
    expect(extra).toEqual([]);
  });
});
