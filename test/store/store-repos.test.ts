import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/index.js';
import type { StoreBackend } from '../../src/store/open-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { UsageRecord, VirtualKeyRecord } from '../../src/store/types.js';
import { verifyChain } from '../../src/audit/index.js';
import { acquireTestPostgres, releaseTestPostgres, type TestPostgres } from '../support/postgres-server.js';

/** A fresh store per backend; PostgreSQL gets a new database each time. */
const FACTORIES: ReadonlyArray<{ name: string; open(): Promise<StoreBackend> }> = [
  { name: 'sqlite', open: () => Promise.resolve(new SqliteStore(openDatabase(':memory:'))) },
  { name: 'postgres', open: async () => PostgresStore.open({ url: await cluster.createDatabase() }) },
];

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await acquireTestPostgres();
}, 60_000);
afterAll(() => releaseTestPostgres(), 30_000);

function key(id: string, overrides: Partial<VirtualKeyRecord> = {}): VirtualKeyRecord {
  return {
    id,
    name: `name ${id} ☃ "quoted" ' -- ;`,
    hash: `hash_${id}`,
    last4: 'abcd',
    previousHash: null,
    previousHashExpiresAt: null,
    upstreamId: null,
    fallbackUpstreamIds: ['ups_b', 'ups_a'],
    scopes: { models: ['gpt-4o*'], endpoints: ['chat'], ipAllowlist: [], maxBodyBytes: null },
    limits: { budgets: [{ period: 'day', usd: 1.5 }], nested: { deep: [1, { x: 'y' }] } },
    metadata: { team: 'ünïcödé', empty: '' },
    createdAt: 1_700_000_000_123,
    updatedAt: 1_700_000_000_123,
    expiresAt: null,
    revokedAt: null,
    suspendedAt: null,
    suspendedReason: null,
    rotatedAt: null,
    canary: false,
    parentId: null,
    projectId: null,
    ...overrides,
  };
}

function usage(id: string, ts: number, overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    id,
    ts,
    keyId: 'key_a',
    upstreamId: 'ups_a',
    endpoint: 'chat',
    model: 'gpt-4o-mini',
    status: 200,
    stream: false,
    promptTokens: 10,
    cachedTokens: 2,
    completionTokens: 5,
    reasoningTokens: 0,
    costUsd: 0.000_123_4,
    priceMissing: false,
    latencyMs: 12.5,
    clientIp: '127.0.0.1',
    errorCode: null,
    ...overrides,
  };
}

describe.each(FACTORIES)('the $name store', (factory) => {
  let store: StoreBackend;
  beforeAll(async () => {
    store = await factory.open();
  }, 60_000);
  afterAll(() => store.close());

  it('round-trips a key exactly (JSON columns, epoch ms past 2^31, unicode, SQL-looking text)', async () => {
    const record = key('key_round', { expiresAt: 4_102_444_800_000, canary: true, parentId: 'key_parent', projectId: 'prj_x' });
    await store.keys.insert(record);
    expect(await store.keys.get('key_round')).toEqual(record);
    expect(await store.keys.findByHash('hash_key_round')).toEqual(record);
    expect(await store.keys.findByHash('no such hash')).toBeNull();
    // SQLite throws synchronously, PostgreSQL rejects: both refuse the duplicate.
    await expect(Promise.resolve().then(() => store.keys.insert(record))).rejects.toThrow();
  });

  it('finds a key by its previous hash after rotation, and sees revocation on the very next lookup', async () => {
    await store.keys.insert(key('key_rot'));
    expect((await store.keys.findByHash('hash_key_rot'))?.revokedAt).toBeNull();
    const rotated = await store.keys.update('key_rot', { hash: 'hash_new', previousHash: 'hash_key_rot', previousHashExpiresAt: 5 }, 1_700_000_000_000);
    expect(rotated?.updatedAt).toBe(1_700_000_000_124);
    expect((await store.keys.findByHash('hash_key_rot'))?.id).toBe('key_rot');
    expect((await store.keys.findByHash('hash_new'))?.id).toBe('key_rot');
    await store.keys.update('key_rot', { revokedAt: 42 }, 1);
    expect((await store.keys.findByHash('hash_new'))?.revokedAt).toBe(42);
    expect(await store.keys.update('key_missing', { revokedAt: 1 }, 1)).toBeNull();
  });

  it('a cached lookup cannot be mutated by its caller', async () => {
    await store.keys.insert(key('key_frozen'));
    const first = await store.keys.findByHash('hash_key_frozen');
    expect(() => (first!.scopes.models).push('*')).toThrow();
    expect((await store.keys.findByHash('hash_key_frozen'))?.scopes.models).toEqual(['gpt-4o*']);
  });

  it('keeps updatedAt strictly increasing under concurrent updates of one key', async () => {
    await store.keys.insert(key('key_race'));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.keys.update('key_race', { name: `n${i}` }, 1)));
    const stamps = results.map((r) => r!.updatedAt).sort((a, b) => a - b);
    expect(new Set(stamps).size).toBe(20);
    expect((await store.keys.get('key_race'))?.updatedAt).toBe(stamps[19]);
  });

  it('stores usage in batches, ignores a replayed id, pages by (ts, id) and summarises like SQLite', async () => {
    const day = Date.UTC(2026, 0, 2, 23, 59, 59, 999);
    const batch = [
      usage('u1', day),
      usage('u2', day + 1, { model: null, status: 500, costUsd: null, priceMissing: true, errorCode: 'upstream_timeout', stream: true }),
      usage('u3', day + 1, { keyId: 'key_b' }),
      usage('u0', day + 1, { keyId: 'key_b', costUsd: 0.5, upstreamKeyId: 'uk_second' }),
    ];
    await store.usage.insertMany(batch);
    await store.usage.insertMany([usage('u1', 1, { keyId: 'hijack' })]);
    await store.usage.insertMany([]);
    const all = await store.usage.list({});
    expect(all.map((r) => r.id)).toEqual(['u1', 'u2', 'u3', 'u0']);
    expect(all[1]).toEqual(batch[1]);
    // The upstream key a request went out with (per-key reconciliation) round-trips; absent stays absent.
    expect(all[3]).toEqual(batch[3]);
    expect(all[0]).not.toHaveProperty('upstreamKeyId');
    const page1 = await store.usage.list({ limit: 2 });
    expect(page1.map((r) => r.id)).toEqual(['u1', 'u0']);
    const page2 = await store.usage.list({ limit: 2, after: { ts: day + 1, id: 'u0' } });
    expect(page2.map((r) => r.id)).toEqual(['u2', 'u3']);
    expect((await store.usage.list({ keyId: 'key_b', since: day + 1, until: day + 2 })).map((r) => r.id).sort()).toEqual(['u0', 'u3']);
    const summary = await store.usage.summarize({});
    expect(summary).toEqual([
      { keyId: 'key_a', model: null, day: '2026-01-03', requests: 1, errors: 1, promptTokens: 10, cachedTokens: 2, completionTokens: 5, reasoningTokens: 0, costUsd: 0, unpricedRequests: 1 },
      { keyId: 'key_a', model: 'gpt-4o-mini', day: '2026-01-02', requests: 1, errors: 0, promptTokens: 10, cachedTokens: 2, completionTokens: 5, reasoningTokens: 0, costUsd: 0.000_123_4, unpricedRequests: 0 },
      { keyId: 'key_b', model: 'gpt-4o-mini', day: '2026-01-03', requests: 2, errors: 0, promptTokens: 20, cachedTokens: 4, completionTokens: 10, reasoningTokens: 0, costUsd: 0.500_123_4, unpricedRequests: 0 },
    ]);
    expect(await store.usage.summarize({}, [])).toEqual([
      { requests: 4, errors: 1, promptTokens: 40, cachedTokens: 8, completionTokens: 20, reasoningTokens: 0, costUsd: 0.500_246_8, unpricedRequests: 1 },
    ]);
    // One row per key asked, in the order asked; a key with no records is null, not missing.
    expect(await store.usage.lastUsedAt(['key_b', 'key_none', 'key_a'])).toEqual([
      { keyId: 'key_b', lastUsedAt: day + 1 },
      { keyId: 'key_none', lastUsedAt: null },
      { keyId: 'key_a', lastUsedAt: day + 1 },
    ]);
    expect(await store.usage.lastUsedAt([])).toEqual([]);
    expect((await store.usage.usedScopes(0)).length).toBe(2);
  });

  it('stores usage strings and numbers exactly as given, whatever characters they hold', async () => {
    const nasty = ['NULL', '', 'a,b', '{x}', ' sp ', 'q"uote', 'back\\slash', '\\"', 'ünï☃ 🙂', "it's"];
    const records = nasty.map((text, i) =>
      usage(`nasty_${i}`, 3_000_000_000_000 + i, { keyId: `key_nasty`, model: text, endpoint: text, clientIp: text, errorCode: text, upstreamId: text, upstreamKeyId: text, costUsd: 1e-7 * (i + 1), latencyMs: 0.1 + i }),
    );
    await store.usage.insertMany(records);
    const stored = await store.usage.list({ keyId: 'key_nasty' });
    expect(stored.map((r) => [r.id, r.model, r.endpoint, r.clientIp, r.errorCode, r.upstreamId, r.upstreamKeyId])).toEqual(
      records.map((r) => [r.id, r.model, r.endpoint, r.clientIp, r.errorCode, r.upstreamId, r.upstreamKeyId]),
    );
    expect(stored.map((r) => [r.ts, r.costUsd, r.latencyMs])).toEqual(records.map((r) => [r.ts, r.costUsd, r.latencyMs]));
  });

  it('writes a 12,000-record batch in one call', async () => {
    const records = Array.from({ length: 12_000 }, (_, i) => usage(`bulk_${i}`, 2_000_000_000_000 + i, { keyId: 'key_bulk' }));
    await store.usage.insertMany(records);
    expect((await store.usage.summarize({ keyId: 'key_bulk' }, ['key']))[0]?.requests).toBe(12_000);
  });

  it('adds settled spend per key and project period; reserved spend survives until settled', async () => {
    await store.spend.reserve({ id: 'res_1', keyId: 'key_s', usd: 0.25, periodKeys: ['day:2026-01-01'], createdAt: 1 });
    await store.spend.settle({ reservationId: 'res_1', keyId: 'key_s', periodKeys: ['day:2026-01-01', 'month:2026-01'], usd: 0.1, projectId: 'prj_s', projectPeriodKeys: ['day:2026-01-01'] });
    await store.spend.settle({ reservationId: null, keyId: 'key_s', periodKeys: ['day:2026-01-01'], usd: 0.2 });
    await store.spend.settle({ reservationId: null, keyId: 'key_s', periodKeys: ['day:2026-01-01'], usd: -5 });
    await store.flushSpend();
    const spent = await store.spend.spentFor('key_s');
    expect(spent['day:2026-01-01']).toBeCloseTo(0.3, 12);
    expect(spent['month:2026-01']).toBeCloseTo(0.1, 12);
    expect((await store.spend.spentFor('prj_s'))['day:2026-01-01']).toBeCloseTo(0.1, 12);
    // Settled: nothing left open for recovery to charge again.
    expect(await store.spend.reconcileOpenReservations()).toBe(0);
  });

  it('admin tokens, upstreams, projects, objects and meta round-trip', async () => {
    await store.adminTokens.insert({ id: 'adm_1', name: 't', hash: 'h1', last4: 'wxyz', role: 'viewer', createdAt: 1, expiresAt: null, lastUsedAt: null, revokedAt: null, projectId: null });
    expect(await store.adminTokens.count()).toBe(1);
    expect((await store.adminTokens.revoke('adm_1', 7))?.revokedAt).toBe(7);
    expect((await store.adminTokens.revoke('adm_1', 9))?.revokedAt).toBe(7);
    await store.adminTokens.touch('adm_1', 8);
    expect((await store.adminTokens.findByHash('h1'))?.lastUsedAt).toBe(8);

    const upstream = { id: 'ups_1', name: 'u', provider: 'openai' as const, baseUrl: 'https://x', apiVersion: null, deployments: { a: 'b' }, keys: [{ id: 'k', ciphertext: 'v1.sealed', last4: '1234' }], isDefault: true, createdAt: 1 };
    await store.upstreams.insert(upstream);
    expect(await store.upstreams.getByName('u')).toEqual(upstream);
    expect((await store.upstreams.update('ups_1', { isDefault: false }))?.isDefault).toBe(false);
    await store.upstreams.replaceKeys('ups_1', []);
    expect((await store.upstreams.get('ups_1'))?.keys).toEqual([]);
    expect(await store.upstreams.remove('ups_1')).toBe(true);
    expect(await store.upstreams.remove('ups_1')).toBe(false);

    await store.projects.insert({ id: 'prj_1', name: 'p', models: ['*'], limits: { rpm: 1 }, createdAt: 5, updatedAt: 5 });
    expect((await store.projects.update('prj_1', { name: 'q' }, 1))?.updatedAt).toBe(6);
    expect((await store.projects.getByName('q'))?.id).toBe('prj_1');
    expect(await store.projects.remove('prj_1')).toBe(true);

    await store.objects.insert({ kind: 'file', id: 'file-1', ownerKeyId: 'key_a', upstreamId: null, createdAt: 1 });
    await store.objects.insert({ kind: 'file', id: 'file-1', ownerKeyId: 'key_thief', upstreamId: null, createdAt: 2 });
    expect((await store.objects.get('file', 'file-1'))?.ownerKeyId).toBe('key_a');
    expect(await store.objects.listByOwner('key_thief')).toEqual([]);

    await store.meta.set('x', 'one');
    await store.meta.set('x', 'two');
    expect(await store.meta.get('x')).toBe('two');
    expect(await store.meta.get('none')).toBeNull();
  });

  it('monitor repositories: rollups fold into hours and days, alerts dedup and acknowledge once, seen reports first use', async () => {
    const { rollups, alerts, seen } = store.monitorRepositories();
    const base = { requests: 2, errors: 1, promptTokens: 1, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, costUsd: 0.5, unpriced: 0, latencySumMs: 10, latencyMaxMs: 7 };
    await rollups.apply([{ ...base, minuteStart: 60_000, dim: 'key', dimValue: 'key_a' }]);
    await rollups.apply([{ ...base, minuteStart: 60_000, dim: 'key', dimValue: 'key_a', latencyMaxMs: 3 }]);
    const minutes = await rollups.series({ granularity: 'minute', dim: 'key' });
    expect(minutes).toHaveLength(1);
    expect(minutes[0]).toMatchObject({ requests: 4, latencyMaxMs: 7, peakMinuteRequests: 4, peakMinuteCost: 1 });
    expect((await rollups.series({ granularity: 'day', dim: 'key', dimValue: 'key_a' }))[0]).toMatchObject({ requests: 4, peakMinuteRequests: 4 });
    expect(await rollups.totals({ granularity: 'hour', dim: 'key' })).toEqual([{ dimValue: 'key_a', ...base, requests: 4, errors: 2, promptTokens: 2, completionTokens: 2, costUsd: 1, latencySumMs: 20, latencyMaxMs: 7 }]);
    expect(await rollups.firstActivity('key', 'key_a')).toBe(0);
    expect(await rollups.prune('minute', 120_000)).toBe(1);

    const alert = { id: 'alr_1', detector: 'key_probing' as const, severity: 'warning' as const, subject: 'ip:1', keyId: null, title: 't', message: 'm', details: { n: 1 }, notified: false, suspended: false, occurrences: 1, createdAt: 100, lastSeenAt: 100, acknowledgedAt: null, acknowledgedBy: null };
    await alerts.insert(alert);
    expect((await alerts.findRecent('key_probing', 'ip:1', 50))?.id).toBe('alr_1');
    await alerts.recordRepeat('alr_1', 90);
    expect((await alerts.get('alr_1'))).toMatchObject({ occurrences: 2, lastSeenAt: 100 });
    expect((await alerts.acknowledge('alr_1', 'admin:a', 200))?.acknowledgedBy).toBe('admin:a');
    expect((await alerts.acknowledge('alr_1', 'admin:b', 300))?.acknowledgedBy).toBe('admin:a');
    expect(await alerts.list({ acknowledged: false, limit: 10 })).toEqual([]);
    expect((await alerts.list({ acknowledged: true, limit: 10 })).map((a) => a.id)).toEqual(['alr_1']);
    await alerts.insertDelivery({ id: 'dlv_1', alertId: 'alr_1', sink: 'webhook', status: 'pending', attempts: 0, lastError: null, createdAt: 1, updatedAt: 1 });
    await alerts.updateDelivery('dlv_1', { status: 'failed', attempts: 3, lastError: 'x', updatedAt: 2 });
    expect(await alerts.listDeliveries({ status: 'failed', limit: 5 })).toHaveLength(1);
    await expect(Promise.resolve().then(() => alerts.insertDelivery({ id: 'dlv_2', alertId: 'alr_missing', sink: 'w', status: 'pending', attempts: 0, lastError: null, createdAt: 1, updatedAt: 1 }))).rejects.toThrow();

    const first = await seen.observe([{ keyId: 'key_a', kind: 'model', value: 'gpt', firstTs: 10, lastTs: 20 }]);
    expect(first.fresh).toHaveLength(1);
    expect(first.keyFirstSeen.size).toBe(0);
    const again = await seen.observe([
      { keyId: 'key_a', kind: 'model', value: 'gpt', firstTs: 5, lastTs: 30 },
      { keyId: 'key_a', kind: 'network', value: '10.0.0.0/24', firstTs: 40, lastTs: 40 },
    ]);
    expect(again.fresh.map((o) => o.value)).toEqual(['10.0.0.0/24']);
    expect(again.keyFirstSeen.get('key_a')).toBe(10);
    expect((await seen.lastUsed()).get('key_a')).toBe(40);
    expect(await seen.epoch()).toBe(5);
  });

  it('lists only keys not revoked whose limits carry budgets, in (createdAt, id) order', async () => {
    // Before the paging test's window, which lists every key after its own start.
    const t = 1_650_000_000_000;
    const budgeted = { budgets: [{ period: 'day', usd: 2 }] };
    await store.keys.insert(key('kb_later', { hash: 'h_kb_later', createdAt: t + 1, limits: { rpm: 5, ...budgeted } }));
    await store.keys.insert(key('kb_first', { hash: 'h_kb_first', createdAt: t, limits: budgeted }));
    await store.keys.insert(key('kb_none', { hash: 'h_kb_none', createdAt: t, limits: { rpm: 5 } }));
    await store.keys.insert(key('kb_empty', { hash: 'h_kb_empty', createdAt: t, limits: { budgets: [] } }));
    await store.keys.insert(key('kb_object', { hash: 'h_kb_object', createdAt: t, limits: { budgets: { usd: 5 } } }));
    await store.keys.insert(key('kb_revoked', { hash: 'h_kb_revoked', createdAt: t, limits: budgeted, revokedAt: t }));
    // The text "budgets" elsewhere (a value in the limits, the name, the metadata) does not make a key budgeted.
    await store.keys.insert(key('kb_text', { hash: 'h_kb_text', createdAt: t, name: '"budgets"', limits: { note: '"budgets":[1]' }, metadata: { budgets: '[1]' } }));
    const listed = (await store.keys.listPage({ limit: 100, withBudgets: true })).filter((k) => k.id.startsWith('kb_'));
    expect(listed.map((k) => k.id)).toEqual(['kb_first', 'kb_later']);
    expect(listed[0]).toEqual(await store.keys.get('kb_first'));
    // The cursor applies as for any page.
    const after = await store.keys.listPage({ limit: 100, withBudgets: true, after: { createdAt: t, id: 'kb_first' } });
    expect(after.map((k) => k.id).filter((id) => id.startsWith('kb_'))).toEqual(['kb_later']);
    // Suspended keys still spend against their budgets' periods: they stay listed.
    await store.keys.update('kb_first', { suspendedAt: t + 2, suspendedReason: 'test' }, t + 2);
    await store.keys.update('kb_later', { revokedAt: t + 2 }, t + 2);
    expect((await store.keys.listPage({ limit: 100, withBudgets: true })).filter((k) => k.id.startsWith('kb_')).map((k) => k.id)).toEqual(['kb_first']);
  });

  it('pages keys in (createdAt, id) order with ids compared bytewise, per project, after any position', async () => {
    const t = 1_800_000_000_000;
    // Mixed case and SQL-looking ids: a locale collation would order these differently from SQLite.
    const ids = ['kp_b', 'kp_B', "kp_Z' OR '1'='1", 'kp_a', 'kp_é', 'kp_'];
    for (const id of ids) await store.keys.insert(key(id, { hash: `h_${id}`, createdAt: t, projectId: id === 'kp_a' || id === 'kp_B' ? 'prj_pages' : null }));
    await store.keys.insert(key('kp_early', { hash: 'h_kp_early', createdAt: t - 1 }));
    await store.keys.insert(key('kp_late', { hash: 'h_kp_late', createdAt: t + 1 }));
    const bytewise = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const expected = ['kp_early', ...bytewise, 'kp_late'];
    const all = (await store.keys.listPage({ limit: 1000, after: { createdAt: t - 2, id: '' } })).map((k) => k.id);
    expect(all).toEqual(expected);
    const walked: string[] = [];
    let after: { createdAt: number; id: string } | undefined = { createdAt: t - 2, id: '' };
    for (let i = 0; i < 20 && after; i++) {
      const page = await store.keys.listPage({ limit: 3, after });
      walked.push(...page.map((k) => k.id));
      const last = page.at(-1);
      after = page.length === 3 && last ? { createdAt: last.createdAt, id: last.id } : undefined;
    }
    expect(walked).toEqual(expected);
    expect((await store.keys.listPage({ limit: 10, projectId: 'prj_pages' })).map((k) => k.id)).toEqual(['kp_B', 'kp_a']);
    expect(await store.keys.listPage({ limit: 10, projectId: "prj' OR '1'='1" })).toEqual([]);
    const [first] = await store.keys.listPage({ limit: 1, after: { createdAt: t, id: 'kp_a' } });
    expect(first?.id).toBe(bytewise[bytewise.indexOf('kp_a') + 1]);
    // A page round-trips records exactly like get().
    expect((await store.keys.listPage({ limit: 1, after: { createdAt: t, id: 'kp_' } }))[0]).toEqual(await store.keys.get(bytewise[1] as string));
  });

  it('reads rollup totals and series for a list of dimension values only, whatever the values hold', async () => {
    const { rollups } = store.monitorRepositories();
    const d = { requests: 1, errors: 0, promptTokens: 1, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, costUsd: 0.5, unpriced: 0, latencySumMs: 4, latencyMaxMs: 4 };
    const values = ['lk_a', 'lk_b', 'lk_"]', "lk_' OR 1=1 --", 'lk_c'];
    await rollups.apply(values.map((dimValue, i) => ({ ...d, costUsd: i + 1, minuteStart: 7_200_000 + i * 60_000, dim: 'key' as const, dimValue })));
    const totals = await rollups.totals({ granularity: 'hour', dim: 'key', dimValues: ['lk_"]', 'lk_c', 'lk_missing', "lk_' OR 1=1 --"] });
    expect(totals.map((r) => [r.dimValue, r.costUsd])).toEqual([['lk_c', 5], ["lk_' OR 1=1 --", 4], ['lk_"]', 3]]);
    expect(await rollups.totals({ granularity: 'hour', dim: 'key', dimValues: [] })).toEqual([]);
    const series = await rollups.series({ granularity: 'minute', dim: 'key', dimValues: ['lk_a', 'lk_b'], since: 7_200_000, until: 7_260_001 });
    expect(series.map((r) => [r.dimValue, r.bucketStart])).toEqual([['lk_a', 7_200_000], ['lk_b', 7_260_000]]);
    // One named value wins over a list.
    expect((await rollups.totals({ granularity: 'day', dim: 'key', dimValue: 'lk_b', dimValues: ['lk_a'] })).map((r) => r.dimValue)).toEqual(['lk_b']);
  });

  it('a batch naming one bucket or one seen value twice counts both and reports the value fresh once', async () => {
    const { rollups, seen } = store.monitorRepositories();
    const d = { requests: 1, errors: 0, promptTokens: 1, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, costUsd: 0.25, unpriced: 0, latencySumMs: 4, latencyMaxMs: 4 };
    await rollups.apply([
      { ...d, minuteStart: 3_600_000, dim: 'model', dimValue: 'dup' },
      { ...d, minuteStart: 3_600_000, dim: 'model', dimValue: 'dup', latencyMaxMs: 9 },
      { ...d, minuteStart: 3_660_000, dim: 'model', dimValue: 'dup' },
    ]);
    const [hour] = await rollups.series({ granularity: 'hour', dim: 'model', dimValue: 'dup' });
    expect(hour).toMatchObject({ requests: 3, costUsd: 0.75, latencyMaxMs: 9, peakMinuteRequests: 2, peakMinuteCost: 0.5 });
    const result = await seen.observe([
      { keyId: 'key_dup', kind: 'model', value: 'x', firstTs: 7, lastTs: 8 },
      { keyId: 'key_dup', kind: 'model', value: 'x', firstTs: 3, lastTs: 9 },
    ]);
    expect(result.fresh).toHaveLength(1);
    expect((await seen.lastUsed()).get('key_dup')).toBe(9);
  });

  it('console accounts: single-use steps are won exactly once under concurrency', async () => {
    const now = 1_700_000_000_000;
    await store.users.insert({ id: 'usr_1', name: 'alice', role: 'owner', passwordHash: 'scrypt$x', totpSealed: null, totpPendingSealed: null, totpLastStep: null, createdAt: now, updatedAt: now });
    expect(await store.users.count()).toBe(1);
    expect((await store.users.update('usr_1', { role: 'viewer', totpSealed: 'sealed' }, now + 1))?.role).toBe('viewer');
    const steps = await Promise.all(Array.from({ length: 10 }, () => store.users.claimTotpStep('usr_1', 5)));
    expect(steps.filter(Boolean)).toHaveLength(1);
    expect(await store.users.claimTotpStep('usr_1', 4)).toBe(false);
    await store.users.replaceRecoveryCodes('usr_1', ['c1', 'c2'], now);
    const uses = await Promise.all(Array.from({ length: 10 }, () => store.users.useRecoveryCode('usr_1', 'c1', now)));
    expect(uses.filter(Boolean)).toHaveLength(1);
    expect(await store.users.unusedRecoveryCodes('usr_1')).toBe(1);
    await store.users.insertPasskey({ id: 'pk_1', userId: 'usr_1', publicKey: 'pub', counter: 3, transports: ['usb', 'nfc'], name: 'key', createdAt: now, lastUsedAt: null });
    const advances = await Promise.all(Array.from({ length: 5 }, () => store.users.advancePasskeyCounter('pk_1', 3, 4, now)));
    expect(advances.filter(Boolean)).toHaveLength(1);
    expect((await store.users.getPasskey('pk_1'))?.transports).toEqual(['usb', 'nfc']);

    await store.authTokens.insertSetupToken({ hash: 'st_1', userId: null, role: 'owner', createdAt: now, expiresAt: now + 1000, usedAt: null });
    const consumed = await Promise.all(Array.from({ length: 10 }, () => store.authTokens.consumeSetupToken('st_1', now)));
    expect(consumed.filter(Boolean)).toHaveLength(1);
    await store.authTokens.insertSetupToken({ hash: 'st_old', userId: null, role: 'owner', createdAt: now, expiresAt: now, usedAt: null });
    expect(await store.authTokens.consumeSetupToken('st_old', now)).toBe(false);
    await store.authTokens.insertChallenge({ challenge: 'ch_1', purpose: 'login', sessionIdHash: null, userId: null, expiresAt: now + 1000 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => store.authTokens.consumeChallenge('ch_1', now)));
    expect(answers.filter((a) => a !== null)).toHaveLength(1);

    const session = { idHash: 's1', userId: 'usr_1', state: 'signed_in' as const, csrfToken: 'c', createdAt: now, lastSeenAt: now, expiresAt: now + 10, stepUpUntil: null, ip: '::1', userAgent: 'ua', revokedAt: null };
    await store.sessions.insert(session);
    await store.sessions.replace('s1', { ...session, idHash: 's2' });
    expect(await store.sessions.get('s1')).toBeNull();
    await store.sessions.insert({ ...session, idHash: 's3' });
    expect(await store.sessions.revokeAllForUser('usr_1', now, 's2')).toBe(1);
    expect((await store.sessions.listByUser('usr_1')).map((x) => x.idHash)).toEqual(['s2']);

    await store.authAttempts.recordFailure('ip:1', 'password', now);
    await store.authAttempts.recordFailure('ip:1', 'second_factor', now);
    expect(await store.authAttempts.failuresSince('ip:1', null, now)).toBe(2);
    await store.authAttempts.lock('ip:1', now + 50);
    await store.authAttempts.lock('ip:1', now + 60);
    expect(await store.authAttempts.lockedUntil('ip:1', now)).toBe(now + 60);

    expect(await store.users.remove('usr_1')).toBe(true);
    expect(await store.sessions.get('s2')).toBeNull();
    expect(await store.users.listPasskeys('usr_1')).toEqual([]);
  });

  it('keeps one audit chain under 40 concurrent appends and verifies it', async () => {
    const log = new AuditLog(store.auditRepository(null), () => 1_700_000_000_000);
    await Promise.all(Array.from({ length: 40 }, (_, i) => log.append({ actor: 'cli:local', action: 'key.updated', target: `key:${i}` })));
    const repo = store.auditRepository(null);
    const entries = await repo.list({ limit: 100, order: 'asc' });
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prevHash).toBe(entries[i - 1]!.hash);
    const page = await repo.readPage(null, 1000);
    expect((await verifyChain(page.entries)).ok).toBe(true);
  });

  it('rolls back store writes and audit entries together', async () => {
    const repo = store.auditRepository(null);
    const log = new AuditLog(repo, () => 1);
    const before = (await repo.head())?.seq ?? 0;
    await expect(
      repo.atomically(async () => {
        await store.keys.insert(key('key_rollback'));
        await log.append({ actor: 'cli:local', action: 'key.created', target: 'key:key_rollback' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await store.keys.get('key_rollback')).toBeNull();
    expect((await repo.head())?.seq ?? 0).toBe(before);
  });
});
