import { KeywardenError } from '../../errors/index.js';

/** A keyset position: the sort time and id of the last item of the previous page. */
export interface KeysetPosition {
  ts: number;
  id: string;
}

/** Opaque to clients: the (ts, id) of the last item of the previous page, base64url JSON. */
export function encodeCursor(ts: number, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

/** Anything but a cursor this server wrote (bad base64, bad JSON, wrong shape, huge ids) is a 400 on `param`. */
export function decodeCursor(cursor: string, param = 'after'): KeysetPosition {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = null;
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !Number.isSafeInteger(value[0]) ||
    typeof value[1] !== 'string' ||
    value[1].length === 0 ||
    value[1].length > 100
  ) {
    throw new KeywardenError('KW_VALIDATION', { message: `${param}: not a cursor returned by this endpoint`, param });
  }
  return { ts: value[0] as number, id: value[1] };
}
