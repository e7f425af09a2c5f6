import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { runGit } from '../../scanner/sources/git.js';
import { EXIT_OK, writeLine, type CliIo } from '../io.js';
import type { SetStatus } from './index.js';

const HOOK_MARKER = '# keywarden pre-commit hook';

/** The installed hook prefers a keywarden on PATH and falls back to the project's own copy through npx. */
export const PRE_COMMIT_HOOK = `#!/bin/sh
${HOOK_MARKER}: blocks commits that add AI API keys.
# Accept a known string with a "keywarden:allow" comment on its line.
if command -v keywarden >/dev/null 2>&1; then
  exec keywarden scan --staged --quiet
fi
exec npx --no-install keywarden scan --staged --quiet
`;

export const PRE_COMMIT_FRAMEWORK_SNIPPET = `# .pre-commit-config.yaml
repos:
  - repo: https://github.com/keywarden/keywarden
    rev: v0.1.0
    hooks:
      - id: keywarden`;

export const HUSKY_SNIPPET = `# .husky/pre-commit
npx --no-install keywarden scan --staged --quiet`;

/** `keywarden hook install`: writes .git/hooks/pre-commit (honouring core.hooksPath) and prints other setups. */
export function registerHook(program: Command, io: CliIo, setStatus: SetStatus): void {
  const hook = program.command('hook').description('Git hook helpers for the leak scanner.');
  hook
    .command('install')
    .description('Install a git pre-commit hook that runs `keywarden scan --staged`.')
    .option('--force', 'replace an existing pre-commit hook that keywarden did not write')
    .action(async (flags: { force?: boolean }) => {
      const hooksDir = path.resolve(io.cwd, (await runGit(['rev-parse', '--git-path', 'hooks'], io.cwd)).toString('utf8').trim());
      const file = path.join(hooksDir, 'pre-commit');
      const existing = await readFile(file, 'utf8').catch(() => undefined);
      if (existing !== undefined && !existing.includes(HOOK_MARKER) && flags.force !== true) {
        throw new KeywardenError('KW_USAGE', {
          message: `${file} already exists and was not written by keywarden; use --force to replace it, or call the scan from it.`,
        });
      }
      await mkdir(hooksDir, { recursive: true });
      await writeFile(file, PRE_COMMIT_HOOK);
      await chmod(file, 0o755);
      writeLine(io.stdout, `Installed the pre-commit hook at ${file}.`);
      writeLine(io.stdout);
      writeLine(io.stdout, 'Using the pre-commit framework instead? Add:');
      writeLine(io.stdout, PRE_COMMIT_FRAMEWORK_SNIPPET);
      writeLine(io.stdout);
      writeLine(io.stdout, 'Using husky? Add:');
      writeLine(io.stdout, HUSKY_SNIPPET);
      setStatus(EXIT_OK);
    });
}
