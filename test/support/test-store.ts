import type { KeywardenConfigInput } from '../../src/config/index.js';
import { acquireTestPostgres, releaseTestPostgres } from './postgres-server.js';

/**
 * The store a harness runs on when its test does not choose one: SQLite by default; with KW_TEST_STORE=postgres a
 * fresh database on the file's throw-away PostgreSQL, so any harness-based suite can be run against PostgreSQL.
 */
export async function testStoreConfig(config: KeywardenConfigInput | undefined): Promise<{ config: KeywardenConfigInput; release(): Promise<void> }> {
  if (process.env.KW_TEST_STORE !== 'postgres' || config?.store?.url !== undefined) return { config: {}, release: () => Promise.resolve() };
  const url = await (await acquireTestPostgres()).createDatabase();
  return { config: { store: { ...config?.store, url } }, release: () => releaseTestPostgres() };
}
