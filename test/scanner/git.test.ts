import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';
import { bin, cli, writeFiles, type CliRun } from './helpers.js';
import { TestRepo } from './helpers.js';
import { compileSarifSchema } from './sarif-schema.js';

const f = new FakeKeys(77);
const removedKey = f.openaiProject();
const branchKey = f.anthropic();
const liveKey = f.groq();
const mistralKey = f.mistral();

interface Report {
  findings: Array<{
    ruleId: string;
    path: string;
    line: number;
    secret: string;
    commit?: { sha: string; author: string; email: string; date: string };
  }>;
}

const parse = (run: CliRun): Report => JSON.parse(run.stdout) as Report;

describe('keywarden scan --git', () => {
  let repo: TestRepo;
  const commits: Record<string, string> = {};

  beforeAll(async () => {
    repo = await TestRepo.create();
    commits.first = await repo.commit('init', { 'README.md': '# app\n', 'src/app.py': 'print(1)\n' });
    commits.addKey = await repo.commit('add config', { 'config/settings.py': `\n\nOPENAI_API_KEY = "${removedKey}"\n` });
    // The key stays through an unrelated edit (a new blob with the same secret), then is deleted.
    commits.edit = await repo.commit('edit config', { 'config/settings.py': `# settings\n\n\nOPENAI_API_KEY = "${removedKey}"\nDEBUG = True\n` });
    commits.remove = await repo.commit('remove key', { 'config/settings.py': 'import os\nOPENAI_API_KEY = os.environ["OPENAI_API_KEY"]\n' });
    await repo.git('checkout', '-q', '-b', 'feature');
    commits.branch = await repo.commit('feature work', { 'feature.ts': `export const k = '${branchKey}';\n` }, 'Eve Branch <eve@example.com>');
    await repo.git('checkout', '-q', 'main');
    commits.live = await repo.commit('k8s', {
      'deploy/secret.yaml': `kind: Secret\ndata:\n  MISTRAL_API_KEY: ${Buffer.from(mistralKey).toString('base64')}\n`,
      '.env.example': `GROQ_API_KEY=${liveKey}\n`,
    });
  });

  it('finds keys on every ref, including deleted content, attributed to the introducing commit', async () => {
    const run = await cli(['scan', '--git', '--format', 'json', '--show-secrets'], { cwd: repo.dir });
    expect(run.status).toBe(1);
    const found = parse(run).findings.map((x) => [x.path, x.ruleId, x.line, x.commit?.sha, x.commit?.author]);
    expect(found).toEqual([
      ['.env.example', 'groq-api-key', 1, commits.live, 'Dev One'],
      ['config/settings.py', 'openai-project-key', 3, commits.addKey, 'Dev One'],
      ['deploy/secret.yaml', 'mistral-api-key', 3, commits.live, 'Dev One'],
      ['feature.ts', 'anthropic-api-key', 1, commits.branch, 'Eve Branch'],
    ]);
    const first = parse(run).findings[1];
    expect(first?.commit).toMatchObject({ email: 'dev@example.com', date: '2024-01-01T00:00:02+00:00' });
    expect(first?.secret).toBe(removedKey);
  });

  it('puts the commit of history findings in SARIF partialFingerprints.commitSha, valid against the schema', async () => {
    const run = await cli(['scan', '--git', '--format', 'sarif'], { cwd: repo.dir });
    const log = JSON.parse(run.stdout) as { runs: Array<{ results: Array<{ partialFingerprints: { commitSha?: string } }> }> };
    const validate = compileSarifSchema();
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const shas = log.runs[0]?.results.map((r) => r.partialFingerprints.commitSha).sort();
    expect(shas).toEqual([commits.live, commits.addKey, commits.live, commits.branch].sort());
  });

  it('--range and --since report only what the commits add', async () => {
    const range = await cli(['scan', '--range', `${commits.edit}..main`, '--format', 'json'], { cwd: repo.dir });
    expect(parse(range).findings.map((x) => [x.path, x.ruleId, x.commit?.sha])).toEqual([
      ['.env.example', 'groq-api-key', commits.live],
      ['deploy/secret.yaml', 'mistral-api-key', commits.live],
    ]);
    const since = await cli(['scan', '--since', commits.first ?? '', '--format', 'json'], { cwd: repo.dir });
    // The key re-added by the "edit" commit is the same secret in the same file: reported once, at its first commit.
    expect(parse(since).findings.filter((x) => x.ruleId === 'openai-project-key').map((x) => x.commit?.sha)).toEqual([commits.addKey]);
    expect((await cli(['scan', '--range', '--output=x'], { cwd: repo.dir })).status).toBe(2);
  });

  it('--staged reports only added lines, with their line numbers in the new file', async () => {
    const staged = await TestRepo.create();
    await staged.commit('base', { 'app.env': `OLD_KEY=${removedKey}\nA=1\n` });
    await writeFiles(staged.dir, { 'app.env': `OLD_KEY=${removedKey}\nA=1\nGROQ_API_KEY=${liveKey}\n`, 'unstaged.env': `K=${branchKey}\n` });
    await staged.git('add', 'app.env');
    const run = await cli(['scan', '--staged', '--format', 'json'], { cwd: staged.dir });
    expect(run.status).toBe(1);
    expect(parse(run).findings.map((x) => [x.path, x.ruleId, x.line])).toEqual([['app.env', 'groq-api-key', 3]]);
    await staged.git('reset', '-q');
    expect((await cli(['scan', '--staged'], { cwd: staged.dir })).status).toBe(0);
  });

  it('runs from the built CLI with worker threads and gives the same history findings', async () => {
    const big = await TestRepo.create();
    const files: Record<string, string> = {};
    for (let i = 0; i < 90; i++) files[`pkg/file-${i}.ts`] = `export const v${i} = ${i};\n`.repeat(20);
    files['pkg/file-42.ts'] = `const key = "${liveKey}";\n`;
    await big.commit('many files', files);
    await big.commit('drop key', { 'pkg/file-42.ts': 'const key = process.env.GROQ_API_KEY;\n' });
    const run = await bin(['scan', '--git', '--format', 'json'], { cwd: big.dir });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    expect(parse(run).findings.map((x) => [x.path, x.ruleId, x.line])).toEqual([['pkg/file-42.ts', 'groq-api-key', 1]]);
    const paths = await bin(['scan', '--format', 'json'], { cwd: big.dir });
    expect(paths.status).toBe(0);
  });
});

describe('keywarden hook install', () => {
  it('installs a pre-commit hook that blocks a commit adding a key, and refuses to clobber a foreign hook', async () => {
    const repo = await TestRepo.create();
    await repo.commit('init', { 'a.txt': 'a\n' });
    const install = await cli(['hook', 'install'], { cwd: repo.dir });
    expect(install.status).toBe(0);
    expect(install.stdout).toContain('.pre-commit-config.yaml');
    expect(install.stdout).toContain('.husky/pre-commit');

    // Put a `keywarden` shim on PATH that runs the built CLI, as an installed package would.
    const shimDir = path.join(repo.dir, '.shim');
    const { BIN } = await import('./helpers.js');
    await writeFiles(shimDir, { keywarden: `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n` });
    await chmod(path.join(shimDir, 'keywarden'), 0o755);
    const env = { ...process.env, PATH: `${shimDir}:${process.env.PATH ?? ''}` };
    await writeFiles(repo.dir, { 'leak.env': `GROQ_API_KEY=${liveKey}\n` });
    const { execFile } = await import('node:child_process');
    const commit = (): Promise<number> =>
      new Promise((resolve) => {
        execFile('git', ['commit', '-q', '-m', 'try'], { cwd: repo.dir, env }, (error) => resolve(error === null ? 0 : 1));
      });
    await repo.git('add', 'leak.env');
    expect(await commit()).toBe(1);
    await writeFiles(repo.dir, { 'leak.env': 'GROQ_API_KEY=${GROQ_API_KEY}\n' });
    await repo.git('add', 'leak.env');
    expect(await commit()).toBe(0);

    await writeFiles(repo.dir, { '.git/hooks/pre-commit': '#!/bin/sh\necho mine\n' });
    expect((await cli(['hook', 'install'], { cwd: repo.dir })).status).toBe(2);
    expect((await cli(['hook', 'install', '--force'], { cwd: repo.dir })).status).toBe(0);
  });
});
