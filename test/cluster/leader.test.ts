// One of each job across replicas on PostgreSQL: the leader lease (a session advisory lock), takeover when the
// leader stops or its session dies, and the monitor on two replicas raising one alert, delivered once, by the leader.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { ManualClock } from '../../src/monitor/clock.js';
import { parseMonitorConfig } from '../../src/monitor/config.js';
import { MonitorEngine } from '../../src/monitor/engine.js';
import type { AlertView } from '../../src/monitor/alert-view.js';
import { PgDatabase } from '../../src/store/postgres/pg-database.js';
import { LEADER_LOCK_CLASS, PgLeaderLease } from '../../src/store/postgres/pg-leader-lease.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { acquireTestPostgres, releaseTestPostgres, type TestPostgres } from '../support/postgres-server.js';

let pg: TestPostgres;
let url: string;
beforeAll(async () => {
  pg = await acquireTestPostgres();
  url = await pg.createDatabase();
}, 60_000);
afterAll(() => releaseTestPostgres(), 30_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(10);
  }
  return performance.now() - started;
}

describe('leader lease on PostgreSQL', () => {
  const BEAT_MS = 100;

  it('elects exactly one of three replicas, and another takes over within a beat or two when it stops', async () => {
    const dbs = [0, 1, 2].map(() => new PgDatabase({ url, max: 2 }));
    const leases = dbs.map((db) => new PgLeaderLease(db, 'test-job-stop', { beatMs: BEAT_MS }));
    try {
      await Promise.all(leases.map((l) => l.start()));
      await until('one leader', () => leases.some((l) => l.isLeader));
      // Several beats later there is still exactly one.
      for (let i = 0; i < 5; i++) {
        await sleep(BEAT_MS);
        expect(leases.filter((l) => l.isLeader)).toHaveLength(1);
      }
      const first = leases.findIndex((l) => l.isLeader);
      await leases[first]!.stop();
      const took = await until('a takeover', () => leases.some((l, i) => i !== first && l.isLeader));
      expect(took).toBeLessThan(3 * BEAT_MS + 500);
      expect(leases.filter((l) => l.isLeader)).toHaveLength(1);
      // A lease of another job is independent.
      const other = new PgLeaderLease(dbs[first]!, 'another-job', { beatMs: BEAT_MS });
      await other.start();
      expect(other.isLeader).toBe(true);
      await other.stop();
    } finally {
      await Promise.all(leases.map((l) => l.stop()));
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it("when the leader's session dies (killed by the server) the old leader steps down on its next beat and one leader takes the lease again", async () => {
    const dbs = [0, 1].map(() => new PgDatabase({ url, max: 2 }));
    const changes: string[] = [];
    const leases = dbs.map((db, i) => new PgLeaderLease(db, 'test-job-kill', { beatMs: BEAT_MS, onChange: (leader) => changes.push(`${i}:${leader}`) }));
    try {
      await leases[0]!.start();
      await until('replica 0 leads', () => leases[0]!.isLeader);
      await leases[1]!.start();
      await sleep(2 * BEAT_MS);
      expect(leases[1]!.isLeader).toBe(false);
      // What a crashed or partitioned replica looks like to PostgreSQL: its session is terminated.
      const holder = async (): Promise<number | null> => {
        const rows = await pg.query(url, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND granted", [LEADER_LOCK_CLASS]);
        return (rows.rows[0] as { pid: number } | undefined)?.pid ?? null;
      };
      const killedPid = await holder();
      expect(killedPid).not.toBeNull();
      await pg.query(url, 'SELECT pg_terminate_backend($1)', [killedPid]);
      // The old leader stops calling itself leader on its next beat ...
      await until('replica 0 steps down', () => changes.includes('0:false'), 3 * BEAT_MS + 500);
      // ... and a leader holds the lease again on a new session: whichever replica's beat came first.
      await until('a new leader', async () => leases.some((l) => l.isLeader) && (await holder()) !== null && (await holder()) !== killedPid);
      for (let i = 0; i < 5; i++) {
        expect(leases.filter((l) => l.isLeader)).toHaveLength(1);
        await sleep(BEAT_MS);
      }
      expect(changes[0]).toBe('0:true');
    } finally {
      await Promise.all(leases.map((l) => l.stop()));
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});

describe('the monitor on two replicas of one PostgreSQL store', () => {
  it('raises one alert for what both replicas see at once, and the leader alone delivers it, even when a follower raised it', async () => {
    const T0 = Date.UTC(2026, 10, 30, 9, 0);
    const stores = await Promise.all([0, 1].map(() => PostgresStore.open({ url })));
    const sent: Array<{ replica: number; alert: AlertView }> = [];
    const clocks = [new ManualClock(T0), new ManualClock(T0)];
    const leases = stores.map((store) => store.leaderLease('monitor-test'));
    const engines = stores.map(
      (store, replica) =>
        new MonitorEngine({
          config: parseMonitorConfig({}),
          repos: store.monitorRepositories(),
          sinks: [{ name: 'memory', send: (alert) => Promise.resolve(void sent.push({ replica, alert })) }],
          logger: silentLogger,
          clock: clocks[replica],
          sleep: () => Promise.resolve(),
          leader: leases[replica],
        }),
    );
    try {
      await engines[0]!.start();
      await engines[1]!.start();
      // The first to start took the lease (its first beat runs inside start()).
      expect(leases.map((l) => l.isLeader)).toEqual([true, false]);

      // The same probing IP hits both replicas; both evaluate at the same moment.
      for (const engine of engines) {
        for (let i = 0; i < 60; i++) engine.securityEvent({ type: 'auth_failed', ip: '203.0.113.77', reason: 'invalid', ts: T0 + i * 100 });
      }
      clocks.forEach((c) => c.set(T0 + 60_000));
      const reports = await Promise.all(engines.map((e) => e.tick()));
      expect(reports.map((r) => r.raised.length).sort()).toEqual([0, 1]);
      expect(reports.reduce((n, r) => n + r.deduplicated, 0)).toBe(1);
      const alerts = await stores[0]!.monitorRepositories().alerts.list({ limit: 10 });
      expect(alerts.filter((a) => a.detector === 'key_probing' && a.subject === '203.0.113.77')).toHaveLength(1);
      expect(alerts[0]?.occurrences).toBe(2);

      // A follower's own raise: recorded as pending, delivered by the leader on its next evaluation.
      for (let i = 0; i < 60; i++) engines[1]!.securityEvent({ type: 'auth_failed', ip: '198.51.100.5', reason: 'invalid', ts: T0 + 60_000 + i * 100 });
      clocks[1]!.set(T0 + 120_000);
      expect((await engines[1]!.tick()).raised).toHaveLength(1);
      await engines[1]!.dispatcher.idle();
      expect(sent.filter((s) => s.alert.subject === '198.51.100.5')).toHaveLength(0);
      clocks[0]!.set(T0 + 120_000);
      await engines[0]!.tick();
      await engines[0]!.dispatcher.idle();
      await engines[1]!.dispatcher.idle();
      // Each alert delivered exactly once, by the leader.
      expect(sent.map((s) => [s.replica, s.alert.subject]).sort()).toEqual([
        [0, '198.51.100.5'],
        [0, '203.0.113.77'],
      ]);
      await engines[0]!.tick();
      await engines[0]!.dispatcher.idle();
      expect(sent).toHaveLength(2);
    } finally {
      for (const e of engines) await e.stop();
      for (const s of stores) await s.close();
    }
  });
});
