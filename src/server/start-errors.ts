import { KeywardenError } from '../errors/index.js';

/** What the start was trying to use, so a failure can name it and the flag that changes it. */
export interface StartContext {
  host: string;
  port: number;
  dataDir: string;
}

interface SystemError {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
}

function systemFields(err: unknown): { code: string; syscall: string; path: string } | null {
  if (typeof err !== 'object' || err === null) return null;
  const { code, syscall, path } = err as SystemError;
  if (typeof code !== 'string') return null;
  return { code, syscall: typeof syscall === 'string' ? syscall : '', path: typeof path === 'string' ? path : '' };
}

const NETWORK_SYSCALLS = new Set(['listen', 'bind', 'getaddrinfo']);

/** The message for a failure to bind the listening socket, or null when the error is not one. */
function listenFailure(code: string, ctx: StartContext): string | null {
  const where = `${ctx.host}:${ctx.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return (
        `Port ${ctx.port} on ${ctx.host} is already in use (another keywarden, or another program). ` +
        `Stop that program, or choose another port: keywarden serve --port ${ctx.port === 65535 ? 8787 : ctx.port + 1} (or KEYWARDEN_PORT).`
      );
    case 'EADDRNOTAVAIL':
      return (
        `Cannot listen on ${ctx.host}: it is not an address of this machine. ` +
        'Use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface), or KEYWARDEN_HOST.'
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `Cannot listen on ${ctx.host}: the host name does not resolve. Use an IP address, e.g. --host 127.0.0.1.`;
    case 'EACCES':
    case 'EPERM':
      return (
        `Permission denied to listen on ${where}: ports below 1024 need privileges. ` +
        'Use a higher port, e.g. --port 8787, and put a reverse proxy in front if you need 80/443.'
      );
    default:
      return null;
  }
}

/** The message for a failure to create or open the data directory, or null when the error is not one. */
function dataDirFailure(code: string, file: string, ctx: StartContext): string | null {
  const at = file !== '' && file !== ctx.dataDir ? ` (at ${file})` : '';
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return `The data directory ${ctx.dataDir} is not a directory: a file is in the way${at}. Choose a directory with --data DIR (or KEYWARDEN_DATA_DIR).`;
    case 'EACCES':
    case 'EPERM':
      return (
        `Permission denied on the data directory ${ctx.dataDir}${at}: this user must be able to read and write it. ` +
        'Fix its owner or permissions, or choose another with --data DIR.'
      );
    case 'EROFS':
      return `The data directory ${ctx.dataDir} is on a read-only file system. Choose a writable one with --data DIR.`;
    case 'ENOSPC':
      return `No space left on the device that holds ${ctx.dataDir}. Free some space or choose another --data DIR.`;
    case 'SQLITE_CANTOPEN':
      return `Cannot open the database in ${ctx.dataDir}. Check that it is a writable directory, or choose another with --data DIR.`;
    case 'SQLITE_READONLY':
      return `The database in ${ctx.dataDir} is read-only for this user. Fix its permissions, or choose another --data DIR.`;
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return `The database in ${ctx.dataDir} is damaged or not a keywarden database. Restore it from a backup, or choose another --data DIR.`;
    default:
      return null;
  }
}

/**
 * Turns anything a start throws into a KeywardenError whose message names the cause and the fix. Errors that are
 * already ours (bad config, vault, data-dir lock) pass through: their messages were written for people.
 */
export function explainStartFailure(err: unknown, ctx: StartContext): KeywardenError {
  if (err instanceof KeywardenError) return err;
  const system = systemFields(err);
  if (system !== null) {
    const isNetwork = NETWORK_SYSCALLS.has(system.syscall) || (system.syscall === '' && system.code.startsWith('EADDR'));
    const message = isNetwork ? listenFailure(system.code, ctx) : dataDirFailure(system.code, system.path, ctx);
    if (message !== null) return new KeywardenError('KW_START_FAILED', { message, cause: err });
    const detail = [system.code, system.syscall, system.path].filter((part) => part !== '').join(' ');
    return new KeywardenError('KW_START_FAILED', { message: `Could not start: ${detail}.`, cause: err });
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new KeywardenError('KW_START_FAILED', { message: `Could not start (${name}).`, cause: err });
}
