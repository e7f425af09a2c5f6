import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { preCommitHook, selfCommand } from '../../src/cli/hook-script.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function sh(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', [file], { env, cwd: path.dirname(file) }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

describe('the pre-commit hook script', () => {
  it('runs exactly the node and script it names, whatever quotes, spaces or $ the paths hold', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kw hook 'q' $HOME "));
    dirs.push(dir);
    const fakeNode = path.join(dir, 'my node');
    // A stand-in for node that prints the arguments it was given, one per line.
    await writeFile(fakeNode, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
    await chmod(fakeNode, 0o755);
    const script = path.join(dir, `bin "x" $(touch pwned).js`);
    await writeFile(script, '');
    const hook = path.join(dir, 'pre-commit');
    await writeFile(hook, preCommitHook({ node: fakeNode, nodeArgs: ['--import', 'file:///a b/loader.mjs'], script }));
    const result = await sh(hook, { PATH: '/usr/bin:/bin' });
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').slice(0, -1)).toEqual(['--import', 'file:///a b/loader.mjs', script, 'scan', '--staged', '--quiet']);
    // The $(touch pwned) in the path stayed text: nothing ran it.
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
  });

  it('never falls back to npx; a vanished install fails the commit with instructions', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kw-hook-'));
    dirs.push(dir);
    const text = preCommitHook({ node: process.execPath, nodeArgs: [], script: path.join(dir, 'gone', 'bin.js') });
    expect(text).not.toContain('npx');
    const hook = path.join(dir, 'pre-commit');
    await writeFile(hook, text);
    const result = await sh(hook, { PATH: '/usr/bin:/bin' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is gone');
    expect(result.stderr).toContain('keywarden hook install');
  });

  it('falls back to the node on PATH when the recorded node moved (version managers)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kw-hook-'));
    dirs.push(dir);
    await mkdir(path.join(dir, 'bin'));
    await writeFile(path.join(dir, 'bin', 'node'), '#!/bin/sh\necho "PATH node $*"\n');
    await chmod(path.join(dir, 'bin', 'node'), 0o755);
    const script = path.join(dir, 'cli.js');
    await writeFile(script, '');
    const hook = path.join(dir, 'pre-commit');
    await writeFile(hook, preCommitHook({ node: path.join(dir, 'old-node-gone'), nodeArgs: [], script }));
    const result = await sh(hook, { PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin` });
    expect(result.stdout).toBe(`PATH node ${script} scan --staged --quiet\n`);
  });

  it('from sources, the hook runs bin.ts through tsx by absolute path', () => {
    const self = selfCommand();
    expect(path.isAbsolute(self.script)).toBe(true);
    expect(self.node).toBe(process.execPath);
    if (self.script.endsWith('.ts')) expect(self.nodeArgs).toEqual(['--import', expect.stringMatching(/^file:\/\/.*tsx\/dist\/loader\.mjs$/) as unknown]);
  });
});
