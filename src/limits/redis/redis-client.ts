import { Redis } from 'ioredis';

/**
 * The ioredis client the limits backend runs on. Nothing is queued while disconnected (a request is refused with
 * 503 at once rather than left hanging). No auto-pipelining: the backend already sends one command per event-loop
 * turn (batch-script.ts), and auto-pipelining would only wrap each in a pipeline of its own. It reconnects for as
 * long as the process runs, so recovery needs no restart. Call `connect()` to start.
 */
export function createRedisClient(url: string, commandTimeoutMs: number): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    enableAutoPipelining: false,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
  });
}
