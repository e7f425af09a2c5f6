import { describe, expect, it } from 'vitest';
import { FakeKeys } from '../rules/fake-keys.js';
import { AddedLinesParser, scanAddedLines, type AddedLines } from './diff-source.js';

describe('AddedLinesParser', () => {
  it('keeps only added lines with their new line numbers, per file and commit', () => {
    const key = new FakeKeys(3).groq();
    const diff = [
      '\u0001abc123\u0000Ann\u0000ann@example.com\u00002024-01-02T03:04:05+00:00',
      '',
      'diff --git a/app.py b/app.py',
      'index 1..2 100644',
      '--- a/app.py',
      '+++ b/app.py',
      '@@ -3,0 +4,2 @@ def main():',
      '+x = 1',
      `+GROQ_API_KEY = "${key}"`,
      '@@ -10 +12 @@',
      '-old',
      '+++ still an added line',
      'diff --git a/gone.txt b/gone.txt',
      '--- a/gone.txt',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-bye',
    ];
    const seen: AddedLines[] = [];
    const parser = new AddedLinesParser((added) => seen.push(added));
    for (const line of diff) parser.line(line);
    parser.end();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ path: 'app.py', lineNumbers: [4, 5, 12], lines: ['x = 1', `GROQ_API_KEY = "${key}"`, '++ still an added line'] });
    const findings = scanAddedLines(seen[0] as AddedLines, {});
    expect(findings.map((f) => [f.line, f.path, f.commit?.sha, f.commit?.author])).toEqual([[5, 'app.py', 'abc123', 'Ann']]);
  });
});
