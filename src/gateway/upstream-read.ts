import type { Dispatcher } from 'undici';
import { KeywardenError } from '../errors/index.js';
import { isJsonObject } from '../util/json-object.js';
import type { UpstreamRuntime } from './upstream-registry.js';
import { upstreamTarget } from './upstream-target.js';

export interface UpstreamReadOptions {
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

/**
 * A GET the gateway makes on its own account with a vaulted key, to read back what a request names before it is
 * forwarded (a batch's input file, a ChatKit thread). The key slot is held, and counted in flight so a key rotation
 * drains on it, until `read` is done with the answer. `what` names the thing read in the error a failed connection
 * gives; the upstream's own words never reach the client (an error body may quote the vaulted key).
 */
export async function readFromUpstream<T>(
  upstream: UpstreamRuntime,
  path: string,
  headers: Readonly<Record<string, string>>,
  options: UpstreamReadOptions,
  what: string,
  read: (response: Dispatcher.ResponseData) => Promise<T>,
): Promise<T> {
  const slot = upstream.nextSlot();
  slot.inFlight++;
  try {
    const target = upstreamTarget(upstream, path, '', null, slot.secret);
    let response: Dispatcher.ResponseData;
    try {
      response = await upstream.pool.request({
        origin: upstream.origin,
        method: 'GET',
        path: target.path,
        headers: { ...headers, ...target.authHeaders, 'accept-encoding': 'identity' },
        headersTimeout: options.headersTimeoutMs,
        bodyTimeout: options.bodyTimeoutMs,
      });
    } catch (err) {
      throw new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { message: `${what} could not be read from the upstream.`, cause: err });
    }
    return await read(response);
  } finally {
    slot.inFlight--;
  }
}

/**
 * Reads one JSON object back: null when the upstream does not know it (404), the object otherwise. Any other status,
 * a body over `maxBytes` or a body that is not a JSON object is an upstream failure.
 */
export function readObjectFromUpstream(
  upstream: UpstreamRuntime,
  path: string,
  headers: Readonly<Record<string, string>>,
  options: UpstreamReadOptions & { maxBytes: number },
  what: string,
): Promise<Record<string, unknown> | null> {
  return readFromUpstream(upstream, path, headers, options, what, async (response) => {
    if (response.statusCode === 404) {
      await response.body.dump();
      return null;
    }
    const unreadable = (): KeywardenError => new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { message: `${what} could not be read from the upstream (status ${response.statusCode}).` });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw unreadable();
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > options.maxBytes) {
        response.body.destroy();
        throw unreadable();
      }
      chunks.push(chunk);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw unreadable();
    }
    if (!isJsonObject(parsed)) throw unreadable();
    return parsed;
  });
}
