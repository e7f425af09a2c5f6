import { afterEach, describe, expect, it } from 'vitest';
import { usage } from '../../test/monitor/records.js';
import { silentLogger } from '../log/logger.js';
import { openDatabase } from '../store/sqlite/database.js';
import type { AlertView } from './alert-view.js';
import { ManualClock } from './clock.js';
import { parseMonitorConfig, type MonitorConfigInput } from './config.js';
import { createSqliteMonitorRepos } from './create-monitor.js';
import { MonitorEngine, type MonitorEngineDeps } from './engine.js';
import { createMonitorMetrics } from './metrics.js';
import type { BudgetStatus, KeyInfo } from './types.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 5, 2, 9, 0);

const engines: MonitorEngine[] = [];
afterEach(async () => {
  while (engines.length > 0) await engines.pop()?.stop();
});

function setup(config: MonitorConfigInput = {}, extra: Partial<MonitorEngineDeps> = {}) {
  const clock = new ManualClock(T0);
  const db = openDatabase(':memory:');
  const repos = createSqliteMonitorRepos(db);
  const sent: AlertView[] = [];
  const metrics = createMonitorMetrics();
  const engine = new MonitorEngine({
    config: parseMonitorConfig(config),
    repos,
    sinks: [{ name: 'memory', send: (alert) => Promise.resolve(void sent.push(alert)) }],
    logger: silentLogger,
    clock,
    sleep: () => Promise.resolve(),
    metrics,
    ...extra,
  });
  engines.push(engine);
  return { clock, repos, sent, metrics, engine };
}

const failed = (ip: string, reason: 'invalid' | 'revoked' | 'expired' | 'missing', ts: number, keyId?: string) =>
  ({ type: 'auth_failed', ip, reason, ts, ...(keyId ? { keyId } : {}) }) as const;

describe('probing detector', () => {
  it('fires on 50 invalid-key requests from one IP within one interval, naming the IP', async () => {
    const { clock, engine, sent, repos } = setup();
    await engine.start();
    for (let i = 0; i < 50; i++) engine.securityEvent(failed('203.0.113.9', i < 40 ? 'invalid' : 'revoked', T0 + i * 100, i < 40 ? undefined : 'key_old'));
    for (let i = 0; i < 49; i++) engine.securityEvent(failed('198.51.100.20', 'invalid', T0 + i * 100));
    for (let i = 0; i < 80; i++) engine.securityEvent(failed('192.0.2.1', 'missing', T0 + i * 100));
    await clock.advance(MINUTE);
    await engine.dispatcher.idle();

    const alerts = await repos.alerts.list({ limit: 10 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ detector: 'key_probing', subject: '203.0.113.9', keyId: null });
    expect(alerts[0]?.title).toContain('203.0.113.9');
    expect(alerts[0]?.details).toMatchObject({ ip: '203.0.113.9', failures: 50, reasons: 'invalid=40, revoked=10', key_ids: 'key_old' });
    expect(sent.map((a) => a.subject)).toEqual(['203.0.113.9']);
  });

  it('does not fire when the failures are spread wider than the window', async () => {
    const { clock, engine } = setup();
    await engine.start();
    for (let i = 0; i < 30; i++) engine.securityEvent(failed('203.0.113.9', 'invalid', T0 + i));
    await clock.advance(7 * MINUTE);
    for (let i = 0; i < 30; i++) engine.securityEvent(failed('203.0.113.9', 'invalid', clock.now() + i));
    const report = await engine.tick();
    expect(report.findings).toEqual([]);
  });

  it('counts auth failures in the denial metrics', async () => {
    const { engine, metrics } = setup();
    engine.securityEvent(failed('203.0.113.9', 'expired', T0));
    engine.securityEvent(failed('203.0.113.9', 'missing', T0));
    const { body } = await metrics.render();
    expect(body).toContain('keywarden_denials_total{reason="key_expired"} 1');
    expect(body).toContain('keywarden_denials_total{reason="missing_api_key"} 1');
  });
});

describe('scope denial detector', () => {
  it('fires on repeated denials for one key and lists what was tried', async () => {
    const { engine } = setup();
    for (let i = 0; i < 10; i++) {
      engine.securityEvent({ type: 'scope_denied', keyId: 'key_b', ip: '198.51.100.7', reason: 'model', model: i % 2 ? 'gpt-4.1' : 'o3', ts: T0 + i });
    }
    for (let i = 0; i < 9; i++) engine.securityEvent({ type: 'scope_denied', keyId: 'key_c', ip: '198.51.100.7', reason: 'endpoint', endpoint: 'files', ts: T0 });
    const report = await engine.tick();
    expect(report.raised.map((a) => [a.detector, a.subject])).toEqual([['scope_denials', 'key_b']]);
    expect(report.raised[0]?.details).toMatchObject({ denials: 10, reasons: 'model=10', ips: '198.51.100.7' });
    expect(String(report.raised[0]?.details.models).split(', ').sort()).toEqual(['gpt-4.1', 'o3']);
  });
});

describe('first-use detectors', () => {
  it('learns a new key silently, then fires on a model and a network it never used', async () => {
    const { clock, engine } = setup();
    engine.ingestUsage([usage({ ts: T0, model: 'gpt-4o-mini', clientIp: '10.1.2.3' })]);
    await clock.advance(MINUTE);
    engine.ingestUsage([usage({ ts: clock.now(), model: 'text-embedding-3-small', clientIp: '10.1.9.9' })]);
    expect((await engine.tick()).findings).toEqual([]); // still inside the learning period

    await clock.advance(2 * DAY);
    engine.ingestUsage([usage({ ts: clock.now(), model: 'gpt-4o-mini', clientIp: '10.1.2.200' })]);
    expect((await engine.tick()).findings).toEqual([]); // known model, known /24

    engine.ingestUsage([usage({ ts: clock.now(), model: 'o1-pro', clientIp: '203.0.113.50' })]);
    const report = await engine.tick();
    const byDetector = Object.fromEntries(report.raised.map((a) => [a.detector, a]));
    expect(byDetector.new_model?.title).toContain('o1-pro');
    expect(byDetector.new_network?.details).toMatchObject({ networks: '203.0.113.0/24', sample_ip: '203.0.113.50' });

    engine.ingestUsage([usage({ ts: clock.now(), model: 'o1-pro', clientIp: '203.0.113.51' })]);
    engine.ingestUsage([usage({ ts: clock.now(), clientIp: '2001:db8:aa:bb::1' })]);
    const next = await engine.tick();
    expect(next.findings.map((f) => [f.detector, f.details.networks])).toEqual([['new_network', '2001:db8:aa:bb::/64']]);
  });

  it('ignores models the upstream refused and requests the gateway denied', async () => {
    const { clock, engine } = setup();
    engine.ingestUsage([usage({ ts: T0 })]);
    await engine.tick();
    await clock.advance(2 * DAY);
    engine.ingestUsage([
      usage({ ts: clock.now(), model: 'gpt-9-typo', status: 404 }),
      usage({ ts: clock.now(), model: 'o3', status: 403, errorCode: 'model_not_allowed', clientIp: '203.0.113.5' }),
    ]);
    expect((await engine.tick()).findings).toEqual([]);
  });
});

describe('budget detector', () => {
  it('alerts once per threshold per period, at the highest threshold reached', async () => {
    let statuses: BudgetStatus[] = [];
    const { engine } = setup({}, { budgets: () => Promise.resolve(statuses) });
    const at = (spentUsd: number, periodId = '2025-06'): BudgetStatus[] => [{ keyId: 'key_a', spentUsd, budgetUsd: 100, periodId }];
    const raisedPct = async (): Promise<unknown[]> => (await engine.tick()).raised.map((a) => a.details.threshold_pct);

    statuses = at(40);
    expect(await raisedPct()).toEqual([]);
    statuses = at(55);
    expect(await raisedPct()).toEqual([50]);
    expect(await raisedPct()).toEqual([]);
    statuses = at(85);
    expect(await raisedPct()).toEqual([80]);
    statuses = at(130);
    const [alert] = (await engine.tick()).raised;
    expect(alert).toMatchObject({ severity: 'critical', details: { threshold_pct: 100 } });
    statuses = at(90, '2025-07');
    expect(await raisedPct()).toEqual([80]);
  });
});

describe('key hygiene detectors', () => {
  it('reports keys past rotation age and keys idle for 30 days, and skips revoked ones', async () => {
    const now = T0 + 120 * DAY;
    const key = (id: string, createdDaysAgo: number, extra: Partial<KeyInfo> = {}): KeyInfo => ({
      id,
      name: id,
      createdAt: now - createdDaysAgo * DAY,
      rotatedAt: null,
      revokedAt: null,
      expiresAt: null,
      suspendedAt: null,
      ...extra,
    });
    const keys = [key('key_old', 100), key('key_rotated', 100, { rotatedAt: now - 10 * DAY }), key('key_idle', 60), key('key_new', 5), key('key_gone', 200, { revokedAt: now - DAY })];
    const { clock, engine } = setup({}, { listKeys: () => Promise.resolve(keys) });
    // Monitoring has watched since T0; key_idle was last used 40 days ago, the others recently.
    engine.ingestUsage([usage({ keyId: 'key_idle', ts: T0 })]);
    await engine.tick();
    clock.set(now - 40 * DAY);
    engine.ingestUsage([usage({ keyId: 'key_idle', ts: clock.now() })]);
    clock.set(now - DAY);
    engine.ingestUsage(['key_old', 'key_rotated', 'key_new'].map((keyId) => usage({ keyId, ts: clock.now() })));
    await engine.tick();
    clock.set(now);
    const found = (await engine.tick()).findings.map((f) => [f.detector, f.keyId]);
    expect(found).toEqual([
      ['key_rotation_due', 'key_old'],
      ['key_unused', 'key_idle'],
    ]);
    // Hygiene runs hourly, not on every tick.
    await clock.advance(MINUTE);
    expect((await engine.tick()).findings).toEqual([]);
  });
});

describe('engine plumbing', () => {
  it('writes rollups on stop and feeds request metrics from usage batches', async () => {
    const { engine, repos, metrics } = setup();
    engine.ingestUsage([usage({ ts: T0 }), usage({ ts: T0, status: 429, errorCode: 'rate_limit_exceeded' })]);
    await engine.stop();
    engines.length = 0;
    expect((await repos.rollups.series({ granularity: 'minute', dim: 'all' }))[0]).toMatchObject({ requests: 2, errors: 1 });
    const { body } = await metrics.render();
    expect(body).toContain('keywarden_requests_total{endpoint="chat",status="2xx"} 1');
    expect(body).toContain('keywarden_denials_total{reason="rate_limit_exceeded"} 1');
    expect(body).toContain('keywarden_tokens_total{model="gpt-4o-mini",kind="prompt"} 100');
  });

  it('keeps rollups whose write failed and writes them on the next tick, while detectors still run', async () => {
    const { engine, repos } = setup();
    const apply = repos.rollups.apply.bind(repos.rollups);
    let failures = 1;
    repos.rollups.apply = (deltas) => (failures-- > 0 ? Promise.reject(new Error('disk full')) : apply(deltas));
    engine.ingestUsage([usage({ ts: T0 })]);
    for (let i = 0; i < 50; i++) engine.securityEvent(failed('203.0.113.9', 'invalid', T0));
    expect((await engine.tick()).raised.map((a) => a.detector)).toEqual(['key_probing']);
    expect(await repos.rollups.series({ granularity: 'minute', dim: 'all' })).toEqual([]);
    await engine.tick();
    expect((await repos.rollups.series({ granularity: 'minute', dim: 'all' }))[0]?.requests).toBe(1);
  });

  it('never throws from ingestUsage, so the usage recorder does not replay a batch', async () => {
    const { engine, repos } = setup();
    // prom-client refuses to decrease a counter; a corrupt record must not escape as an exception.
    expect(() => engine.ingestUsage([usage({ ts: T0 }), usage({ ts: T0, promptTokens: -5 }), usage({ ts: T0 })])).not.toThrow();
    await engine.tick();
    expect((await repos.rollups.series({ granularity: 'minute', dim: 'all' }))[0]?.requests).toBe(3);
  });
});
