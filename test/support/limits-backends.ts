import { afterAll, beforeAll, describe } from 'vitest';
import type { KeywardenConfigInput } from '../../src/config/index.js';
import { startHarness, type Harness, type HarnessOptions } from './gateway-harness.js';
import { startTestRedis } from './redis-server.js';
import { acquireTestPostgres, releaseTestPostgres } from './postgres-server.js';

interface LimitsBackendCase {
  name: string;
  start(): Promise<{ config: KeywardenConfigInput; stop(): Promise<void> }>;
}

/**
 * Every limits backend the limits suites run against: in-process, a throw-away redis-server, and the scale-out
 * stack (Redis counters over the PostgreSQL store's spend ledger).
 */
export const LIMITS_BACKENDS: readonly LimitsBackendCase[] = [
  { name: 'memory', start: () => Promise.resolve({ config: {}, stop: () => Promise.resolve() }) },
  {
    name: 'redis',
    async start() {
      const redis = await startTestRedis();
      return { config: { limits: { redis: { url: redis.url } } }, stop: () => redis.stop() };
    },
  },
  {
    name: 'memory+postgres',
    async start() {
      const url = await (await acquireTestPostgres()).createDatabase();
      return { config: { store: { url } }, stop: () => releaseTestPostgres() };
    },
  },
  {
    name: 'redis+postgres',
    async start() {
      const redis = await startTestRedis();
      const url = await (await acquireTestPostgres()).createDatabase();
      return {
        config: { limits: { redis: { url: redis.url } }, store: { url } },
        async stop() {
          await redis.stop();
          await releaseTestPostgres();
        },
      };
    },
  },
];

/**
 * Runs `suites` once per limits backend, each time on a fresh harness configured for it (handed to `use` before
 * the suites run), so one test file covers both backends without duplicating a test.
 */
export function describeEachLimitsBackend(use: (h: Harness) => void, suites: () => void, options: HarnessOptions = {}): void {
  describe.each(LIMITS_BACKENDS)('on the $name limits backend', (backend) => {
    let h: Harness | null = null;
    let stop: () => Promise<void> = () => Promise.resolve();
    beforeAll(async () => {
      const started = await backend.start();
      stop = () => started.stop();
      h = await startHarness({ ...options, config: { ...options.config, ...started.config } });
      use(h);
    });
    afterAll(async () => {
      await h?.close();
      await stop();
    });
    suites();
  });
}
