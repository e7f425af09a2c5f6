import type { SqliteDatabase } from '../store/sqlite/database.js';
import { SqliteAlertRepository } from '../store/sqlite/alert-repo.js';
import { SqliteSeenRepository } from '../store/sqlite/monitor-seen-repo.js';
import { SqliteRollupRepository } from '../store/sqlite/rollup-repo.js';
import { systemClock } from './clock.js';
import type { MonitorConfig } from './config.js';
import { MonitorEngine, type MonitorEngineDeps, type MonitorRepositories } from './engine.js';
import { createSinks } from './sinks/create-sinks.js';
import { createSinkNetwork } from './sinks/sink-network.js';
import { createOutboundPolicy, type OutboundPolicy } from '../policy/outbound-url.js';
import type { OutboundLookup } from '../policy/outbound-connect.js';

export function createSqliteMonitorRepos(db: SqliteDatabase): MonitorRepositories {
  return { rollups: new SqliteRollupRepository(db), alerts: new SqliteAlertRepository(db), seen: new SqliteSeenRepository(db) };
}

/**
 * The monitor as the server runs it: the store's repositories (SQLite or PostgreSQL) and the sinks from config.
 * Everything else (suspendKey, audit, listKeys, budgets, metrics) is passed through.
 */
export function createMonitor(
  repos: MonitorRepositories,
  config: MonitorConfig,
  deps: Omit<MonitorEngineDeps, 'config' | 'repos' | 'sinks'> & { outbound?: OutboundPolicy; outboundLookup?: OutboundLookup },
): MonitorEngine {
  const { outbound, outboundLookup, ...engineDeps } = deps;
  const clock = engineDeps.clock ?? systemClock;
  // Without a policy from the server, sinks get the strictest one: public https only.
  const network = createSinkNetwork(outbound ?? createOutboundPolicy({ allow: [] }), outboundLookup);
  return new MonitorEngine({ ...engineDeps, clock, config, repos, sinks: createSinks(config, () => clock.now(), network) });
}
