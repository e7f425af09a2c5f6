import type { Logger } from '../log/logger.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { securePermissions } from './data-dir-modes.js';

/**
 * Claims a data directory for this process (server or maintenance command) and makes it private: the dir 0700,
 * every file in it 0600. Call before opening the store; call `recheck` after, for files SQLite created.
 */
export function claimDataDir(dir: string, purpose: string, logger: Logger | null): DataDirLock & { recheck(): void } {
  const lock = acquireDataDirLock(dir, purpose);
  const fix = (): void => {
    const fixed = securePermissions(dir);
    if (fixed.length > 0) logger?.warn('data directory permissions tightened to owner-only', { dir, fixed: fixed.join(', ') });
  };
  try {
    fix();
  } catch (err) {
    lock.release();
    throw err;
  }
  return { ...lock, release: () => lock.release(), recheck: fix };
}
