import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';

export interface WalkedFile {
  /** Absolute path, for reading. */
  absolute: string;
  /** Path as reported: relative to the scan root, with forward slashes. */
  relative: string;
}

export interface WalkOptions {
  /** Honour .gitignore files (and .git/info/exclude) as git would. */
  gitignore: boolean;
  /** Extra gitignore-syntax patterns relative to the root: .keywardenignore and the config's ignore list. */
  ignorePatterns: readonly string[];
  /** Told about every entry left out, so the report can say what was not scanned. */
  onSkip?: (skip: WalkSkip) => void;
}

export type WalkSkip =
  | { kind: 'ignored-file' | 'ignored-directory' | 'binary-file' | 'unreadable-directory'; relative: string };

/**
 * Extensions that are never text. Skipping them by name saves reading them; anything else is read and checked
 * for NUL bytes, so text formats (.ipynb, .env, .tf, Dockerfile, ...) are always scanned whatever their name.
 * Archives the scanner opens (zip, jar, war, ear, gz, tgz, tar) are not listed: their members are scanned.
 */
const BINARY_EXTENSIONS = new Set(
  (
    'png jpg jpeg gif bmp ico webp tiff psd avif heic mp3 mp4 m4a wav ogg flac mov avi mkv webm bz2 xz 7z ' +
    'rar class so dylib dll exe bin o a lib obj pdf woff woff2 ttf otf eot wasm pyc pyo sqlite db ' +
    'parquet feather npy npz pt pth onnx safetensors h5 ckpt pkl'
  ).split(' '),
);

export function hasBinaryExtension(file: string): boolean {
  const dot = file.lastIndexOf('.');
  return dot !== -1 && BINARY_EXTENSIONS.has(file.slice(dot + 1).toLowerCase());
}

async function readIgnoreFile(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

interface Frame {
  /** Directory relative to the root ('' for the root), with a trailing slash when non-empty. */
  prefix: string;
  matcher: Ignore;
}

function ignoredBy(frames: readonly Frame[], relative: string, isDir: boolean): boolean {
  for (const frame of frames) {
    if (!relative.startsWith(frame.prefix)) continue;
    const local = relative.slice(frame.prefix.length) + (isDir ? '/' : '');
    if (frame.matcher.ignores(local)) return true;
  }
  return false;
}

/**
 * Lists the files under `root` (a directory or a single file). Nested .gitignore files apply to their own
 * subtree, like git. `.git` directories and symbolic links are never followed.
 */
export async function walkFiles(root: string, options: WalkOptions): Promise<WalkedFile[]> {
  const info = await stat(root);
  if (!info.isDirectory()) return [{ absolute: root, relative: path.basename(root) }];

  const rootFrame: Frame = { prefix: '', matcher: ignore().add([...options.ignorePatterns]) };
  if (options.gitignore) {
    const exclude = await readIgnoreFile(path.join(root, '.git', 'info', 'exclude'));
    if (exclude !== undefined) rootFrame.matcher.add(exclude);
  }
  const files: WalkedFile[] = [];
  const walkDir = async (dir: string, prefix: string, frames: Frame[]): Promise<void> => {
    let active = frames;
    if (options.gitignore) {
      const gitignore = await readIgnoreFile(path.join(dir, '.gitignore'));
      if (gitignore !== undefined) active = [...frames, { prefix, matcher: ignore().add(gitignore) }];
    }
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      // An unreadable directory (permissions) holds nothing we can scan; the rest of the tree still can be.
      options.onSkip?.({ kind: 'unreadable-directory', relative: prefix });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relative = prefix + entry.name;
      if (entry.isDirectory()) {
        if (entry.name === '.git') continue;
        if (ignoredBy(active, relative, true)) {
          options.onSkip?.({ kind: 'ignored-directory', relative });
          continue;
        }
        await walkDir(path.join(dir, entry.name), `${relative}/`, active);
      } else if (entry.isFile()) {
        if (ignoredBy(active, relative, false)) options.onSkip?.({ kind: 'ignored-file', relative });
        else if (hasBinaryExtension(entry.name)) options.onSkip?.({ kind: 'binary-file', relative });
        else files.push({ absolute: path.join(dir, entry.name), relative });
      }
    }
  };
  await walkDir(root, '', [rootFrame]);
  return files;
}
