import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { parseMonitorConfig } from '../../src/monitor/config.js';
import { createSqliteMonitorRepos } from '../../src/monitor/create-monitor.js';
import { MonitorEngine } from '../../src/monitor/engine.js';
import { createMonitorMetrics } from '../../src/monitor/metrics.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { usage } from './records.js';

/** CPU microseconds per call (user + system), which contention from parallel test files barely affects. */
function cpuMicros(n: number, fn: (i: number) => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

describe('per-request cost of monitoring', () => {
  it('stays within the 10 µs budget for usage intake and security events', () => {
    const engine = new MonitorEngine({
      config: parseMonitorConfig({}),
      repos: createSqliteMonitorRepos(openDatabase(':memory:')),
      sinks: [],
      logger: silentLogger,
      metrics: createMonitorMetrics(),
    });
    const N = 50_000;
    const T = Date.UTC(2025, 5, 2, 12);
    const records = Array.from({ length: N }, (_, i) =>
      usage({ ts: T + i, keyId: `key_${i % 200}`, clientIp: `10.0.${i % 200}.${i % 3}`, model: i % 2 ? 'gpt-4o-mini' : 'gpt-4o' }),
    );
    cpuMicros(N, (i) => engine.ingestUsage([records[i]!])); // warm up the JIT
    const perRecord = cpuMicros(N, (i) => engine.ingestUsage([records[i]!]));
    const perEvent = cpuMicros(N, (i) => engine.securityEvent({ type: 'auth_failed', ip: `203.0.113.${i % 200}`, reason: 'invalid', ts: T + i }));
    expect(perRecord + perEvent).toBeLessThan(10);
  });
});
