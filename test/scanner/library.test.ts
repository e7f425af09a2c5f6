import { describe, expect, it } from 'vitest';
import { scanText } from '../../src/index.js';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';

describe('library export', () => {
  it('exposes the pure scanText(text, { path }) from the package entry', () => {
    const key = new FakeKeys(1).xai();
    const findings = scanText(`const k = "${key}";`, { path: 'lib.ts' });
    expect(findings.map((f) => [f.path, f.ruleId, f.line, f.column, f.secret])).toEqual([['lib.ts', 'xai-api-key', 1, 12, key]]);
  });
});
