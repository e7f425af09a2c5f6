import type { Writable } from 'node:stream';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, string | number | boolean | null | undefined>;
type Fields = LogFields;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * One logger, two renderings: JSON lines for machines (a pipe, a file, a log collector) and a readable line for a
 * person at a terminal. Fields are flat scalars by type, so an object holding a secret cannot be dumped by
 * accident; errors are reduced to name and code (messages of foreign errors can carry request details).
 */
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

export type LogFormat = 'json' | 'pretty';

function jsonLine(level: LogLevel, msg: string, fields: Fields | undefined): string {
  return `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`;
}

/** A value as it reads in `key=value`: bare when it is a plain word, JSON-quoted otherwise (spaces, quotes, =). */
function prettyValue(value: string | number | boolean | null): string {
  const text = String(value);
  return typeof value === 'string' && (text === '' || /[\s"=\\]|[^\x21-\x7e]/.test(text)) ? JSON.stringify(text) : text;
}

function prettyLine(level: LogLevel, msg: string, fields: Fields | undefined): string {
  const time = new Date().toISOString().slice(11, 19);
  let line = `${time} ${level.toUpperCase().padEnd(5)} ${msg}`;
  if (fields !== undefined) {
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) line += ` ${key}=${prettyValue(value)}`;
  }
  return `${line}\n`;
}

/** Readable on a terminal, JSON lines anywhere else (where logs are collected and parsed). */
export function defaultLogFormat(out: Writable & { isTTY?: boolean }): LogFormat {
  return out.isTTY === true ? 'pretty' : 'json';
}

export function createLogger(level: LogLevel, out: Writable & { isTTY?: boolean }, format: LogFormat = defaultLogFormat(out)): Logger {
  const min = RANK[level];
  const render = format === 'pretty' ? prettyLine : jsonLine;
  const write = (lvl: LogLevel, msg: string, fields?: Fields): void => {
    if (RANK[lvl] < min) return;
    out.write(render(lvl, msg, fields));
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

export const silentLogger: Logger = createLogger('silent', { write: () => true } as unknown as Writable, 'json');
