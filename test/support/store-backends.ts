import { afterAll, beforeAll, describe } from 'vitest';
import type { KeywardenConfigInput } from '../../src/config/index.js';
import { SqliteStore } from '../../src/store/index.js';
import type { SqliteDatabase } from '../../src/store/sqlite/database.js';
import { startHarness, type Harness, type HarnessOptions } from './gateway-harness.js';
import { acquireTestPostgres, releaseTestPostgres } from './postgres-server.js';

export { acquireTestPostgres, releaseTestPostgres };

interface StoreBackendCase {
  name: 'sqlite' | 'postgres';
  /** Config for a fresh store of this kind (a new database for PostgreSQL). */
  start(): Promise<{ config: KeywardenConfigInput; stop(): Promise<void> }>;
}

/** Every store backend the shared suites run against: SQLite in the data dir, and a throw-away PostgreSQL. */
export const STORE_BACKENDS: readonly StoreBackendCase[] = [
  { name: 'sqlite', start: () => Promise.resolve({ config: {}, stop: () => Promise.resolve() }) },
  {
    name: 'postgres',
    async start() {
      const pg = await acquireTestPostgres();
      const url = await pg.createDatabase();
      return { config: { store: { url } }, stop: () => releaseTestPostgres() };
    },
  },
];

/**
 * Runs `suites` once per store backend, each time on a fresh harness configured for it (handed to `use` before
 * the suites run), so one test file covers both stores without duplicating a test.
 */
export function describeEachStoreBackend(use: (h: Harness) => void, suites: () => void, options: HarnessOptions = {}): void {
  describe.each(STORE_BACKENDS)('on the $name store', (backend) => {
    let h: Harness | null = null;
    let stop: () => Promise<void> = () => Promise.resolve();
    beforeAll(async () => {
      const started = await backend.start();
      stop = () => started.stop();
      h = await startHarness({ ...options, config: { ...options.config, ...started.config } });
      use(h);
    }, 60_000);
    afterAll(async () => {
      await h?.close();
      await stop();
    }, 30_000);
    suites();
  });
}

/** The SQLite connection of a harness that runs on SQLite (tests that poke at the file directly). */
export function sqliteDbOf(h: Harness): SqliteDatabase {
  const store = h.server.services.store;
  if (!(store instanceof SqliteStore)) throw new Error('this test needs the SQLite store');
  return store.db;
}
