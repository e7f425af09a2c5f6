import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { KeywardenError } from '../errors/index.js';

/**
 * Decompresses a buffered upstream body so it can be scrubbed and metered. The output is capped like any buffered
 * body, so a compression bomb stops at the cap instead of filling memory. Codings stacked (`gzip, br`) or unknown
 * are refused: the gateway asked for identity and will not relay what it cannot read.
 */
export function decompressBody(body: Buffer, encoding: string, maxBytes: number): Buffer {
  const options = { maxOutputLength: maxBytes };
  try {
    switch (encoding) {
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body, options);
      case 'deflate':
        return inflateSync(body, options);
      case 'br':
        return brotliDecompressSync(body, options);
      default:
        break;
    }
  } catch (err) {
    throw new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { message: 'The upstream sent a compressed body that could not be read.', cause: err });
  }
  throw new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { message: `The upstream sent a body in an unsupported encoding.` });
}
