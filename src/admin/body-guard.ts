import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { KeywardenError } from '../errors/index.js';
import { readBody, type BodyPace } from '../gateway/request-body.js';
import { exceedsJsonDepth } from '../util/json-depth.js';

/** Admin bodies are small JSON documents; deeper nesting than this is an attack, not an input. */
export const MAX_ADMIN_JSON_DEPTH = 32;

/**
 * Caps admin request bodies, registered after authentication so an anonymous caller never gets a body read at all.
 * Under the node server the body is read by the gateway's reader: refused by Content-Length before a byte is read,
 * cut as soon as it crosses the cap, and cut (408) when it arrives slower than `pace`. Without a socket (in-process
 * `app.request()`), hono's body-limit middleware applies the same cap.
 */
export function adminBodyLimit(maxBytes: number, pace?: BodyPace): MiddlewareHandler {
  const limitWithoutSocket = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new KeywardenError('KW_BODY_TOO_LARGE', { message: `The request body exceeds ${maxBytes} bytes.` });
    },
  });
  return async (c, next) => {
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    if (!incoming) return limitWithoutSocket(c, next);
    // Only requests that carry a body; touching `c.req.raw.body` here would start node-server's own reader.
    const declared = incoming.headers['content-length'];
    const hasBody = incoming.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
    if (!hasBody || incoming.method === 'GET' || incoming.method === 'HEAD') return next();
    const body = await readBody(incoming, maxBytes, pace);
    c.req.raw = new Request(c.req.raw, { body });
    return next();
  };
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
