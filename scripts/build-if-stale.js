// `npm start` runs this first: it compiles only when a source or build setting is newer than dist/, so a start
// with an up-to-date build costs a few stat calls instead of a full tsc run.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const root = path.resolve(import.meta.dirname, '..');
// Both outputs: the compiled CLI and the built console (a build from before the console existed lacks it).
const outputs = [path.join(root, 'dist', 'cli', 'bin.js'), path.join(root, 'dist', 'console', 'index.html')];

function newestMtime(entry) {
  const info = statSync(entry);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs; // a deleted or renamed file shows as a newer directory
  for (const name of readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, name)));
  return newest;
}

function builtAt() {
  try {
    return Math.min(...outputs.map((output) => statSync(output).mtimeMs));
  } catch {
    return -1;
  }
}

// console/ holds the web console's sources (built by vite into dist/console).
const inputs = ['src', 'console', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((name) => path.join(root, name));
const sourcesAt = Math.max(...inputs.map(newestMtime));
if (sourcesAt <= builtAt()) process.exit(0);
const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(result.status ?? 1);
