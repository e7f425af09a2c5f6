import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

export const AUDIT_ANCHOR_FILE_NAME = 'audit.anchor';

/** The anchor file's text, or null when it does not exist. */
export function readAnchorFile(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Replaces the anchor file atomically and durably (temp file, fsync, rename), owner-only. Synchronous on purpose:
 * it runs inside the SQLite transaction that inserts the entry, so a failure here rolls the entry back.
 */
export function writeAnchorFile(file: string, text: string | null): void {
  if (text === null) {
    rmSync(file, { force: true });
    return;
  }
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, `${text}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}
