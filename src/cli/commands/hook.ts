import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { runGit } from '../../scanner/sources/git.js';
import { EXIT_OK, writeJson, writeLine, type CliIo } from '../io.js';
import { HOOK_MARKER, preCommitHook } from '../hook-script.js';
import type { SetStatus } from './index.js';

/**
 * keywarden is not published to a registry or tagged yet, so the snippet cannot name a real tag: `rev` must be a
 * commit (or tag) of the repository you install from, and `pre-commit autoupdate` fills it in.
 */
export const PRE_COMMIT_FRAMEWORK_SNIPPET = `# .pre-commit-config.yaml
repos:
  - repo: <git URL of the keywarden repository you install from>
    rev: <a commit SHA or tag of it; \`pre-commit autoupdate\` sets the latest tag>
    hooks:
      - id: keywarden`;

/** husky runs in the project, where keywarden is a devDependency: npx --no-install never fetches from a registry. */
export const HUSKY_SNIPPET = `# .husky/pre-commit  (with keywarden in the project's devDependencies)
npx --no-install keywarden scan --staged --quiet`;

/** `keywarden hook install`: writes .git/hooks/pre-commit (honouring core.hooksPath) and prints other setups. */
export function registerHook(program: Command, io: CliIo, setStatus: SetStatus): void {
  const hook = program.command('hook').description('Git hook helpers for the leak scanner.');
  hook
    .command('install')
    .description('Install a git pre-commit hook that runs `keywarden scan --staged`.')
    .option('--force', 'replace an existing pre-commit hook that keywarden did not write')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { force?: boolean; json?: boolean }) => {
      const hooksDir = path.resolve(io.cwd, (await runGit(['rev-parse', '--git-path', 'hooks'], io.cwd)).toString('utf8').trim());
      const file = path.join(hooksDir, 'pre-commit');
      const existing = await readFile(file, 'utf8').catch(() => undefined);
      if (existing !== undefined && !existing.includes(HOOK_MARKER) && flags.force !== true) {
        throw new KeywardenError('KW_USAGE', {
          message: `${file} already exists and was not written by keywarden; use --force to replace it, or call the scan from it.`,
        });
      }
      await mkdir(hooksDir, { recursive: true });
      const script = preCommitHook();
      await writeFile(file, script);
      await chmod(file, 0o755);
      if (flags.json === true) {
        writeJson(io.stdout, { installed: file, replaced: existing !== undefined, preCommitFramework: PRE_COMMIT_FRAMEWORK_SNIPPET, husky: HUSKY_SNIPPET });
        setStatus(EXIT_OK);
        return;
      }
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
