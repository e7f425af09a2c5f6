import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileQueue } from './file-queue.js';
import { walkInto, type WalkSkip, type WalkedFile } from './walk.js';

async function tree(files: string[]): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'kw-walkc-'));
  for (const file of files) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), 'x');
  }
  return root;
}

describe('walkInto', () => {
  it('counts a directory that cannot be read (here: gone between listing and reading) as skipped, and goes on', async () => {
    const root = await tree(['a-trigger.txt', 'gone/inner/x.ts', 'kept/y.ts']);
    const skips: WalkSkip[] = [];
    const seen: string[] = [];
    await walkInto(root, { gitignore: true, ignorePatterns: [], onSkip: (skip) => skips.push(skip) }, (file) => {
      seen.push(file.relative);
      // Files of a directory reach the sink before its subdirectories are read.
      if (file.relative === 'a-trigger.txt') return rm(path.join(root, 'gone'), { recursive: true });
      return undefined;
    });
    expect(seen.sort()).toEqual(['a-trigger.txt', 'kept/y.ts']);
    expect(skips).toEqual([{ kind: 'unreadable-directory', relative: 'gone/' }]);
  });

  it('ends on a symlink loop and lists no file twice', async () => {
    const root = await tree(['d/e/f.ts']);
    await symlink('..', path.join(root, 'd', 'e', 'parent'));
    await symlink('.', path.join(root, 'self'));
    const seen: string[] = [];
    await walkInto(root, { gitignore: false, ignorePatterns: [] }, (file) => {
      seen.push(file.relative);
      return undefined;
    });
    expect(seen).toEqual(['d/e/f.ts']);
  });

  it('stops listing while the queue is full, and resumes as files are taken', async () => {
    const files = Array.from({ length: 200 }, (_, i) => `p${i % 20}/f${i}.ts`);
    const root = await tree(files);
    const queue = new FileQueue(16);
    let peak = 0;
    const walking = walkInto(root, { gitignore: false, ignorePatterns: [] }, (file) => {
      const full = queue.push(file);
      peak = Math.max(peak, queue.length);
      return full;
    }).then(() => queue.close());
    const taken: WalkedFile[] = [];
    for (let batch = await queue.take(5); batch !== undefined; batch = await queue.take(5)) {
      taken.push(...batch);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await walking;
    expect(taken.map((f) => f.relative).sort()).toEqual(files.sort());
    expect(peak).toBeLessThanOrEqual(16);
  });
});

describe('FileQueue', () => {
  it('wakes every waiting taker, ends with undefined, and hands a listing failure to the takers', async () => {
    const queue = new FileQueue(4);
    const takers = [queue.take(10), queue.take(10)];
    expect(queue.push({ absolute: '/x', relative: 'x' })).toBeUndefined();
    queue.close();
    const results = await Promise.all(takers);
    expect(results.filter((r) => r !== undefined)).toEqual([[{ absolute: '/x', relative: 'x' }]]);
    expect(results.filter((r) => r === undefined)).toHaveLength(1);

    const failing = new FileQueue(4);
    const waiting = failing.take(1);
    failing.close(new Error('EMFILE'));
    await expect(waiting).rejects.toThrow('EMFILE');
  });
});
