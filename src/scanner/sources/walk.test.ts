import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { walkFiles } from './walk.js';

describe('walkFiles', () => {
  it('honours nested .gitignore files, skips .git and binary extensions, and can ignore nothing', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'kw-walk-'));
    await mkdir(path.join(root, 'sub', 'deep'), { recursive: true });
    await mkdir(path.join(root, '.git'));
    await writeFile(path.join(root, '.gitignore'), 'dist/\n*.log\n');
    await writeFile(path.join(root, 'sub', '.gitignore'), 'local.env\n');
    for (const file of ['a.ts', 'x.log', 'sub/local.env', 'sub/keep.env', 'sub/deep/local.env', 'img.png', '.git/config', 'Dockerfile']) {
      await writeFile(path.join(root, file), 'x');
    }
    await mkdir(path.join(root, 'dist'));
    await writeFile(path.join(root, 'dist', 'out.js'), 'x');
    const listed = async (gitignore: boolean): Promise<string[]> =>
      (await walkFiles(root, { gitignore, ignorePatterns: [] })).map((f) => f.relative).sort();
    expect(await listed(true)).toEqual(['.gitignore', 'Dockerfile', 'a.ts', 'sub/.gitignore', 'sub/keep.env']);
    expect(await listed(false)).toEqual(
      ['.gitignore', 'Dockerfile', 'a.ts', 'dist/out.js', 'sub/.gitignore', 'sub/deep/local.env', 'sub/keep.env', 'sub/local.env', 'x.log'].sort(),
    );
  });
});
