import type { ServerOptions } from 'node:http';
import type { KeywardenConfig } from '../config/index.js';

export type ServerTimeouts = Pick<
  KeywardenConfig['server'],
  'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs' | 'bodyTimeoutMs' | 'bodyMinBytesPerSecond' | 'requestDeadlineMs'
>;

/** The server defaults (config/server-timeouts.ts), for callers that build a server without a config. */
export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 65_000,
  bodyTimeoutMs: 20_000,
  bodyMinBytesPerSecond: 500,
  requestDeadlineMs: 0,
};

/**
 * node:http options for the configured timeouts. Node enforces headersTimeout and requestTimeout by sweeping its
 * connections every `connectionsCheckingInterval` (30 s by default), which would let a slowloris client hold a
 * socket up to 30 s past its limit; the sweep runs at a quarter of the shorter limit instead (at most 30 s).
 */
export function httpServerOptions(timeouts: ServerTimeouts): ServerOptions {
  const requestTimeout = timeouts.requestTimeoutMs;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(timeouts.headersTimeoutMs, requestTimeout);
  return {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(30_000, Math.max(25, Math.floor(headersTimeout / 4))),
  };
}
