import { KeywardenError } from '../errors/index.js';

/**
 * JSON.stringify for a request body the gateway rewrites. V8 parses arbitrarily deep JSON iteratively but
 * serializes it recursively, so a client's 100,000-deep body would overflow the stack here: that is the client's
 * malformed input (400), not a server error (500). The try costs nothing when nothing throws.
 */
export function reserializeRequestJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (err instanceof RangeError) throw new KeywardenError('KW_BAD_REQUEST', { message: 'The request body is nested too deeply.' });
    throw err;
  }
}
