import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanText } from '../engine/engine.js';
import { FakeKeys } from '../rules/fake-keys.js';
import { newFindings, readBaseline, writeBaseline } from './baseline.js';

describe('baseline', () => {
  const f = new FakeKeys(5);
  const known = f.openaiProject();
  const fresh = f.anthropic();

  it('survives edits, moved lines and renames, and reports only new secrets', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kw-baseline-'));
    const file = path.join(dir, 'baseline.json');
    await writeBaseline(file, scanText(`KEY=${known}\n`, { path: 'a.env' }));
    const stored = await readFile(file, 'utf8');
    expect(stored).not.toContain(known);
    const baseline = await readBaseline(file);
    const later = scanText(`# moved\n\n\nOTHER=1\nKEY=${known}\nNEW=${fresh}\n`, { path: 'renamed.env' });
    expect(newFindings(later, baseline).map((x) => x.secret)).toEqual([fresh]);
  });

  it('rejects a file that is not a keywarden baseline', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kw-baseline-'));
    const file = path.join(dir, 'b.json');
    await writeFile(file, JSON.stringify({ version: 1, findings: [{ line: 3 }] }));
    await expect(readBaseline(file)).rejects.toThrow(/not a keywarden baseline/);
  });
});
