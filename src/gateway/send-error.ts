import type { ServerResponse } from 'node:http';
import type { KeywardenError} from '../errors/index.js';
import { asKeywardenError, toOpenAIError } from '../errors/index.js';
import { bodyFullyRead } from './request-body.js';

/** Renders any error as OpenAI's error JSON. Unknown errors become a generic 500: internals never leak. */
export function sendError(res: ServerResponse, err: unknown): KeywardenError {
  const error = asKeywardenError(err);
  if (res.headersSent) {
    // Mid-response: the status line is gone; cutting the connection is the only honest signal left.
    res.destroy();
    return error;
  }
  const body = JSON.stringify(toOpenAIError(error));
  res.writeHead(error.status, {
    ...error.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    // Refused before its body was read (401, 413, 408…): keeping the connection would mean reading and discarding
    // whatever the client still drips. Node closes the socket once this answer is flushed.
    ...(bodyFullyRead(res.req) ? null : { connection: 'close' }),
  });
  res.end(body);
  return error;
}
