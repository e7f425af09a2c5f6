import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const HOOK_MARKER = '# keywarden pre-commit hook';

/** How to run the keywarden that is running now: node, optional loader arguments, and the CLI script. */
export interface SelfCommand {
  node: string;
  nodeArgs: string[];
  script: string;
}

/**
 * The CLI script this process runs from. Installed (or built), that is dist/cli/bin.js beside this module; run
 * from TypeScript sources (development), bin.ts through tsx's loader, by absolute path so no lookup happens later.
 */
export function selfCommand(): SelfCommand {
  const built = fileURLToPath(new URL('./bin.js', import.meta.url));
  if (existsSync(built)) return { node: process.execPath, nodeArgs: [], script: built };
  const source = fileURLToPath(new URL('./bin.ts', import.meta.url));
  // tsx exports its package.json; its main entry, dist/loader.mjs, is what `node --import tsx` loads.
  const tsxRoot = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const loader = pathToFileURL(path.join(tsxRoot, 'dist', 'loader.mjs')).href;
  return { node: process.execPath, nodeArgs: ['--import', loader], script: source };
}

/** POSIX shell single-quoting: safe for any path, spaces and quotes included. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The pre-commit hook: runs exactly the keywarden that installed it, never `npx` or a registry lookup (outside the
 * project that would block every commit, or run whatever a registry serves). If node moved (version managers do
 * that), the node on PATH runs the same script; if the script is gone, the hook says how to fix it.
 */
export function preCommitHook(self: SelfCommand = selfCommand()): string {
  const nodeArgs = self.nodeArgs.map(shellQuote).join(' ');
  return `#!/bin/sh
${HOOK_MARKER}: blocks commits that add AI API keys.
# Accept a known string with a "keywarden:allow" comment on its line. Bypass once: git commit --no-verify.
KEYWARDEN_NODE=${shellQuote(self.node)}
KEYWARDEN_CLI=${shellQuote(self.script)}
if [ ! -f "$KEYWARDEN_CLI" ]; then
  echo "keywarden pre-commit hook: $KEYWARDEN_CLI is gone (keywarden moved or was uninstalled)." >&2
  echo "Install keywarden again and run 'keywarden hook install', or remove .git/hooks/pre-commit." >&2
  exit 1
fi
[ -x "$KEYWARDEN_NODE" ] || KEYWARDEN_NODE=node
exec "$KEYWARDEN_NODE" ${nodeArgs === '' ? '' : `${nodeArgs} `}"$KEYWARDEN_CLI" scan --staged --quiet
`;
}
