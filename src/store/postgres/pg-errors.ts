import { KeywardenError } from '../../errors/index.js';

/** SQLSTATE classes and node error codes that mean "the database cannot be reached", not "this statement is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300)/;
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|connection timeout/i;

export function isUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE_CODES.has(code))) return true;
  return err instanceof Error && UNAVAILABLE_MESSAGES.test(err.message);
}

/**
 * A lost database becomes 503 `store_unavailable` (admin writes, key lookups that miss the cache), never a 500
 * that names a host or a driver error. Every other error passes unchanged.
 */
export function translatePgError(err: unknown): unknown {
  return isUnavailable(err) ? new KeywardenError('KW_STORE_UNAVAILABLE', { cause: err }) : err;
}
