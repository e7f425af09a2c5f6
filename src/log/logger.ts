import type { Writable } from 'node:stream';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
type Fields = Record<string, string | number | boolean | null | undefined>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * JSON-lines logger. Fields are flat scalars by type, so an object holding a secret cannot be dumped by
 * accident; errors are reduced to name and code (messages of foreign errors can carry request details).
 */
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

export function createLogger(level: LogLevel, out: Writable): Logger {
  const min = RANK[level];
  const write = (lvl: LogLevel, msg: string, fields?: Fields): void => {
    if (RANK[lvl] < min) return;
    out.write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields })}\n`);
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}

/** Safe description of a thrown value for logs: its class and code, never its message or stack. */
export function describeError(err: unknown): Fields {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { error: err.name, errorCode: typeof code === 'string' ? code : undefined };
  }
  return { error: typeof err };
}

export const silentLogger: Logger = createLogger('silent', { write: () => true } as unknown as Writable);
