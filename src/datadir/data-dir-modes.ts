import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates the directory owner-only (mkdir's mode is filtered by the umask, so it is chmod-ed explicitly). */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if ((lstatSync(dir).mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(dir, PRIVATE_DIR_MODE);
}

/**
 * Makes the data directory 0700 and every regular file directly in it 0600, whatever existed before (a dir made
 * 0755 by hand, a database created 0644 under an older version or a permissive umask). Returns what it changed,
 * so the caller can log it. Symlinks are left alone: chmod would follow them out of the directory.
 */
export function securePermissions(dir: string): string[] {
  const fixed: string[] = [];
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const dirMode = lstatSync(dir).mode & 0o777;
  if (dirMode !== PRIVATE_DIR_MODE) {
    chmodSync(dir, PRIVATE_DIR_MODE);
    fixed.push(`${dir} (${octal(dirMode)} -> 0700)`);
  }
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const stat = lstatSync(file);
    if (!stat.isFile()) continue;
    const mode = stat.mode & 0o777;
    if (mode !== PRIVATE_FILE_MODE) {
      chmodSync(file, PRIVATE_FILE_MODE);
      fixed.push(`${name} (${octal(mode)} -> 0600)`);
    }
  }
  return fixed;
}

const octal = (mode: number): string => `0${mode.toString(8)}`;
