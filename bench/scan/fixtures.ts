import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateDeepTree, generateMinifiedLine } from '../../src/scanner/corpus/deep-tree.js';
import { generateCorpus, type PlantedKey } from '../../src/scanner/corpus/generator.js';

export interface TreeInfo {
  dir: string;
  files: number;
  bytes: number;
  planted: PlantedKey[];
}

const TREE_SPEC = { seed: 20_260_101, files: 5000, totalBytes: 100 * 1024 * 1024 };

/** The ~100 MB, 5,000-file tree, generated once per spec and reused (bench/.work is git-ignored). */
export async function buildTree(work: string): Promise<TreeInfo> {
  const dir = path.join(work, 'tree');
  const marker = path.join(work, 'tree.json');
  if (existsSync(marker)) {
    const saved = JSON.parse(await readFile(marker, 'utf8')) as TreeInfo & { spec: string };
    if (saved.spec === JSON.stringify(TREE_SPEC)) return saved;
  }
  await rm(dir, { recursive: true, force: true });
  const info: TreeInfo = { dir, files: 0, bytes: 0, planted: [] };
  for (const file of generateCorpus(TREE_SPEC)) {
    const target = path.join(dir, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content);
    info.files++;
    info.bytes += Buffer.byteLength(file.content);
    info.planted.push(...file.planted);
  }
  await writeFile(marker, JSON.stringify({ ...info, spec: JSON.stringify(TREE_SPEC) }));
  return info;
}

export interface DeepTreeInfo extends TreeInfo {
  directories: number;
}

/** ≥ 1,500 files in ≥ 2,500 directories, ~30 MB, the mix of a real checkout (see corpus/deep-tree.ts). */
const DEEP_SPEC = { seed: 20_261_130, files: 1500, directories: 2600, totalBytes: 30 * 1024 * 1024 };

export async function buildDeepTree(work: string): Promise<DeepTreeInfo> {
  const dir = path.join(work, 'deep');
  const marker = path.join(work, 'deep.json');
  if (existsSync(marker)) {
    const saved = JSON.parse(await readFile(marker, 'utf8')) as DeepTreeInfo & { spec: string };
    if (saved.spec === JSON.stringify(DEEP_SPEC)) return saved;
  }
  await rm(dir, { recursive: true, force: true });
  const tree = generateDeepTree(DEEP_SPEC);
  for (const directory of tree.directories) await mkdir(path.join(dir, directory), { recursive: true });
  let bytes = 0;
  for (const file of tree.files) {
    await writeFile(path.join(dir, file.path), file.content);
    bytes += Buffer.byteLength(file.content);
  }
  const info: DeepTreeInfo = { dir, files: tree.files.length, directories: tree.directories.length, bytes, planted: tree.planted };
  await writeFile(marker, JSON.stringify({ ...info, spec: JSON.stringify(DEEP_SPEC) }));
  return info;
}

/** Single-line (minified) files of the given sizes, each in its own directory, with one key each. */
export async function buildSingleLines(work: string, sizes: readonly number[]): Promise<Array<{ dir: string; file: string; bytes: number; planted: PlantedKey }>> {
  const out = [];
  for (const size of sizes) {
    const dir = path.join(work, `line-${size}`);
    const file = path.join(dir, 'bundle.min.js');
    const line = generateMinifiedLine(size, size);
    if (!existsSync(file)) {
      await mkdir(dir, { recursive: true });
      await writeFile(file, line.content);
    }
    out.push({ dir, file, bytes: Buffer.byteLength(line.content), planted: { ...line.planted, path: 'bundle.min.js' } });
  }
  return out;
}

function fastImport(repo: string, write: (emit: (chunk: string | Buffer) => Promise<void>) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['fast-import', '--quiet'], { cwd: repo, stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import exited ${String(code)}`))));
    const emit = (chunk: string | Buffer): Promise<void> =>
      new Promise((done) => {
        if (child.stdin.write(chunk)) done();
        else child.stdin.once('drain', done);
      });
    write(emit).then(() => child.stdin.end(), reject);
  });
}

async function initRepo(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    spawn('git', ['init', '-q', '-b', 'main'], { cwd: dir, stdio: 'inherit' }).on('close', (code) => (code === 0 ? resolve() : reject(new Error('git init failed'))));
  });
}

export interface HistoryInfo {
  dir: string;
  commits: number;
  blobBytes: number;
  planted: PlantedKey[];
}

/**
 * 1,000 commits over the tree's 5,000 files (five new files each), with every 25th commit deleting a file added
 * earlier, so deleted content must still be found. Built with git fast-import: seconds instead of minutes.
 */
export async function buildHistory(work: string, tree: TreeInfo): Promise<HistoryInfo> {
  const dir = path.join(work, 'history');
  const marker = path.join(work, 'history.json');
  if (existsSync(marker) && existsSync(dir)) return JSON.parse(await readFile(marker, 'utf8')) as HistoryInfo;
  await initRepo(dir);
  const paths = (await listFiles(tree.dir)).sort();
  const commits = 1000;
  let blobBytes = 0;
  await fastImport(dir, async (emit) => {
    for (let c = 0; c < commits; c++) {
      const when = 1_700_000_000 + c * 60;
      const author = `Dev ${c % 7} <dev${c % 7}@example.com> ${when} +0000`;
      const message = `commit ${c}\n`;
      await emit(`commit refs/heads/main\nauthor ${author}\ncommitter ${author}\ndata ${Buffer.byteLength(message)}\n${message}`);
      for (const file of paths.slice(c * 5, c * 5 + 5)) {
        const data = await readFile(path.join(tree.dir, file));
        blobBytes += data.length;
        await emit(`M 100644 inline ${file}\ndata ${data.length}\n`);
        await emit(data);
        await emit('\n');
      }
      if (c % 25 === 24) {
        const victim = paths[(c - 20) * 5];
        if (victim !== undefined) await emit(`D ${victim}\n`);
      }
      await emit('\n');
    }
  });
  const info: HistoryInfo = { dir, commits, blobBytes, planted: tree.planted };
  await writeFile(marker, JSON.stringify(info));
  return info;
}

async function listFiles(root: string, prefix = ''): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const out: string[] = [];
  for (const entry of await readdir(path.join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(root, rel)));
    else out.push(rel);
  }
  return out;
}

/** A 10,000-file repository with a small staged change, for the pre-commit latency target. */
export async function buildStagedRepo(work: string): Promise<string> {
  const dir = path.join(work, 'staged');
  await initRepo(dir);
  await fastImport(dir, async (emit) => {
    const author = `Dev <dev@example.com> 1700000000 +0000`;
    await emit(`commit refs/heads/main\nauthor ${author}\ncommitter ${author}\ndata 5\nbase\n`);
    for (let i = 0; i < 10_000; i++) {
      const data = `export const value${i} = ${i};\n// module ${i} of the staged-scan benchmark\n`;
      await emit(`M 100644 inline src/m${Math.floor(i / 100)}/file-${i}.ts\ndata ${Buffer.byteLength(data)}\n${data}\n`);
    }
    await emit('\n');
  });
  await new Promise<void>((resolve, reject) => {
    spawn('git', ['reset', '-q', '--hard', 'main'], { cwd: dir, stdio: 'inherit' }).on('close', (code) => (code === 0 ? resolve() : reject(new Error('git reset failed'))));
  });
  return dir;
}
