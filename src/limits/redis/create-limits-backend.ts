import type { LimitsConfig } from '../limits-config.js';
import { describeError, type Logger } from '../../log/logger.js';
import type { SpendRepository } from '../../store/index.js';
import type { LimitsBackend } from '../backend.js';
import { MemoryLimitsBackend } from '../memory-backend.js';
import { RedisLimitsBackend } from './redis-backend.js';
import { createRedisClient } from './redis-client.js';

export interface LimitsBackendHandle {
  backend: LimitsBackend;
  /** Dependency states for /readyz, e.g. `{ redis: 'up' }`; empty for the in-process backend. */
  dependencies(): Record<string, string>;
  /** True when a dependency is down and the config says to refuse everything meanwhile. */
  refusingAll(): boolean;
  close(): Promise<void>;
}

/**
 * The one place the limits backend is chosen, at start-up: a shared Redis when `limits.redis.url` (or
 * KEYWARDEN_REDIS_URL) is set, otherwise counters in this process over the spend ledger.
 */
export async function createLimitsBackend(config: LimitsConfig, ledger: SpendRepository, logger: Logger): Promise<LimitsBackendHandle> {
  const url = config.redis.url;
  if (url === undefined) {
    return { backend: new MemoryLimitsBackend(ledger), dependencies: () => ({}), refusingAll: () => false, close: () => Promise.resolve() };
  }
  const redis = createRedisClient(url, config.redis.commandTimeoutMs);
  let down = false;
  // The URL may carry a password: only the error's description is logged, never the URL.
  redis.on('error', (err) => {
    if (!down) logger.error('redis unreachable; limited keys answer 503 limits_unavailable until it returns', describeError(err));
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis reachable again');
    down = false;
  });
  const backend = new RedisLimitsBackend({
    redis,
    ledger,
    prefix: config.redis.keyPrefix,
    leaseMs: config.redis.leaseMs,
    onError: (err, during) => logger.warn(`redis limits ${during} failed; retried on the next beat`, describeError(err)),
  });
  // Not reachable at start is not fatal: the gateway starts degraded and ioredis keeps trying.
  await redis.connect().catch(() => undefined);
  backend.start();
  return {
    backend,
    dependencies: () => ({ redis: backend.state() }),
    refusingAll: () => !config.failOpen && !backend.available(),
    async close() {
      await backend.close();
      redis.disconnect();
    },
  };
}
