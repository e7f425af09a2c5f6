import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { KeywardenError } from '../errors/index.js';
import { exceedsJsonDepth } from '../util/json-depth.js';

/** Admin bodies are small JSON documents; deeper nesting than this is an attack, not an input. */
export const MAX_ADMIN_JSON_DEPTH = 32;

/**
 * Caps admin request bodies with hono's body-limit middleware: refused by Content-Length before a byte is read, or
 * as soon as a chunked body crosses the cap (nothing beyond the cap is buffered). Registered after authentication,
 * so an anonymous caller never gets a body read at all.
 */
export function adminBodyLimit(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new KeywardenError('KW_BODY_TOO_LARGE', { message: `The request body exceeds ${maxBytes} bytes.` });
    },
  });
}

/** Parses an admin JSON body; nesting past MAX_ADMIN_JSON_DEPTH is a 400 before parsing, never a stack overflow. */
export function parseAdminJson(text: string): unknown {
  if (text.length === 0) return {};
  if (exceedsJsonDepth(text, MAX_ADMIN_JSON_DEPTH)) {
    throw new KeywardenError('KW_INVALID_JSON', { message: `The request body nests deeper than ${MAX_ADMIN_JSON_DEPTH} levels.` });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KeywardenError('KW_INVALID_JSON');
  }
}

/**
 * Marks an error answer `Connection: close` when the request body was never read (refused by auth or by size):
 * Node then closes the socket once the answer is flushed, instead of reading whatever the client keeps dripping.
 * Only under the node server; in-process `app.request()` calls have no socket.
 */
export function closeIfBodyUnread(c: Context, res: Response): Response {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (incoming && !incoming.complete) res.headers.set('connection', 'close');
  return res;
}
