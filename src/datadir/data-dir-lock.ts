import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { KeywardenError } from '../errors/index.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './data-dir-modes.js';

export const LOCK_FILE_NAME = 'keywarden.lock';
export const LOCK_OWNER_FILE_NAME = 'keywarden.lock.pid';

export interface DataDirLock {
  readonly dir: string;
  release(): void;
}

/**
 * One writer per data directory. The lock is an exclusive SQLite lock (a POSIX fcntl lock underneath) on
 * `keywarden.lock`, held for the life of the process. The kernel drops it when the process dies, kill -9
 * included, so a crash never leaves a stale lock behind, and there is no lock-file age to guess (proper-lockfile's
 * mtime staleness would block a restart right after a crash, and could be "compromised" by a long event-loop
 * stall). The holder's PID sits in a side file only to name it in the error message.
 */
export function acquireDataDirLock(dir: string, purpose: string): DataDirLock {
  ensurePrivateDir(dir);
  const lockFile = path.join(dir, LOCK_FILE_NAME);
  // Created 0600 before SQLite opens it, so SQLite gives its -journal the same mode.
  closeSync(openSync(lockFile, 'a', PRIVATE_FILE_MODE));
  const db = new Database(lockFile, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
      const holder = readHolder(dir);
      throw new KeywardenError('KW_DATA_DIR_LOCKED', {
        message: `The data directory ${dir} is locked by another keywarden process${holder ? ` (${holder})` : ''}: only one server or maintenance command may use it at a time (lock: ${lockFile}).`,
      });
    }
    throw err;
  }
  const ownerFile = path.join(dir, LOCK_OWNER_FILE_NAME);
  writeFileSync(ownerFile, `${JSON.stringify({ pid: process.pid, purpose, since: new Date().toISOString() })}\n`, { mode: PRIVATE_FILE_MODE });
  let released = false;
  return {
    dir,
    release() {
      if (released) return;
      released = true;
      rmSync(ownerFile, { force: true });
      db.close();
    },
  };
}

function readHolder(dir: string): string | null {
  try {
    const owner = JSON.parse(readFileSync(path.join(dir, LOCK_OWNER_FILE_NAME), 'utf8')) as { pid?: unknown; purpose?: unknown };
    if (typeof owner.pid !== 'number') return null;
    return `PID ${owner.pid}${typeof owner.purpose === 'string' ? `, ${owner.purpose}` : ''}`;
  } catch {
    return null;
  }
}
