import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminTokenService } from '../../src/admin/admin-tokens.js';
import { KeyService } from '../../src/admin/key-service.js';
import { createAdminApp } from '../../src/admin/router.js';
import { UpstreamService } from '../../src/admin/upstream-service.js';
import { AuditLog } from '../../src/audit/index.js';
import { KeywardenError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { AlertDispatcher } from '../../src/monitor/alert-dispatcher.js';
import { AlertService } from '../../src/monitor/alert-service.js';
import { createSqliteMonitorRepos } from '../../src/monitor/create-monitor.js';
import type { MonitorRepositories } from '../../src/monitor/engine.js';
import { UsageIntake } from '../../src/monitor/usage-intake.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteAuditRepository } from '../../src/store/sqlite/audit-repo.js';
import { Limiter } from '../../src/limits/limiter.js';
import { MemoryLimitsBackend } from '../../src/limits/memory-backend.js';
import { PriceTable } from '../../src/pricing/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { Vault } from '../../src/vault/index.js';
import { cli as runCliInProcess } from '../cli/run-cli.js';
import { usage } from './records.js';

const NOW = Date.UTC(2025, 5, 2, 12);
let dir: string;
let store: SqliteStore;
let audit: AuditLog;
let repos: MonitorRepositories;
let server: Server;
let url: string;
let token: string;
let alertId: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kw-monitor-'));
  store = new SqliteStore(openDatabase(':memory:'));
  const { vault } = await Vault.open({ dataDir: dir, env: { KEYWARDEN_MASTER_KEY: 'ab'.repeat(32) }, meta: store.meta });
  const now = () => NOW;
  audit = new AuditLog(new SqliteAuditRepository(store.db), now);
  const adminTokens = new AdminTokenService(store, vault.pepper, now, audit);
  token = (await adminTokens.issue('test', 'system:test')).token;
  repos = createSqliteMonitorRepos(store.db);
  const app = createAdminApp({
    store,
    audit,
    keys: new KeyService(store, vault.pepper, now, audit),
    upstreams: new UpstreamService(store, vault, now, () => Promise.resolve(), audit),
    adminTokens,
    limiter: new Limiter(new MemoryLimitsBackend(store.spend), new PriceTable()),
    alerts: repos.alerts,
    rollups: repos.rollups,
    hourRetentionMs: 90 * 86_400_000,
    logger: silentLogger,
    now,
  });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Seed: one alert with a failed delivery, a few audit entries, some usage.
  const dispatcher = new AlertDispatcher({
    repo: repos.alerts,
    sinks: [{ name: 'hook', send: () => Promise.reject(new KeywardenError('KW_ALERT_DELIVERY_REJECTED', { message: 'hook: HTTP 410' })) }],
    policy: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    sleep: () => Promise.resolve(),
    now,
    logger: silentLogger,
  });
  const raised = await new AlertService({ repo: repos.alerts, dispatcher, now, logger: silentLogger }).raise(
    { detector: 'key_probing', severity: 'warning', subject: '203.0.113.9', keyId: null, title: 'Key probing from 203.0.113.9', message: 'm', details: { failures: 50 } },
    'alert',
    3_600_000,
  );
  await dispatcher.idle();
  alertId = raised.status === 'raised' ? raised.alert.id : '';
  for (let i = 1; i <= 3; i++) await audit.append({ actor: 'admin:adm_seed', action: 'key.updated', target: `key:key_${i}` });
  const intake = new UsageIntake();
  intake.add(usage({ ts: NOW - 3_600_000, keyId: 'key_a', model: '=HYPERLINK("x")' }));
  intake.add(usage({ ts: NOW - 3_600_000, keyId: 'key_b' }));
  await repos.rollups.apply(intake.drain().deltas);
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The real CLI in-process, against this file's admin server. */
const cli = (argv: string[]) => runCliInProcess(argv, { KEYWARDEN_URL: url, KEYWARDEN_ADMIN_TOKEN: token }, { cwd: dir });

const get = (p: string, auth = true) => fetch(`${url}/admin/v1${p}`, { headers: auth ? { authorization: `Bearer ${token}` } : {} });

describe('alert routes and `keywarden alerts`', () => {
  it('requires an admin token', async () => {
    expect((await get('/alerts', false)).status).toBe(401);
    expect((await get('/alerts?status=bogus')).status).toBe(400);
  });

  it('lists alerts and failed deliveries', async () => {
    const list = await cli(['alerts', 'list', '--json']);
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: alertId, detector: 'key_probing', subject: '203.0.113.9' })]);
    const table = await cli(['alerts', 'list', '--detector', 'key_probing']);
    expect(table.stdout).toMatch(/^ID\s+CREATED\s+SEVERITY/);
    expect(table.stdout).toContain('Key probing from 203.0.113.9');
    const failed = await cli(['alerts', 'deliveries', '--failed', '--json']);
    expect(JSON.parse(failed.stdout)).toEqual([expect.objectContaining({ alert_id: alertId, sink: 'hook', status: 'failed', last_error: 'hook: HTTP 410' })]);
  });

  it('acknowledges an alert once, recording who did it in the audit log', async () => {
    const before = (await audit.head())?.seq ?? 0;
    const ack = await cli(['alerts', 'ack', alertId, '--json']);
    expect(ack.status).toBe(0);
    expect(JSON.parse(ack.stdout)).toMatchObject({ id: alertId, acknowledged_by: expect.stringMatching(/^admin:adm_/) as string });
    await cli(['alerts', 'ack', alertId]);
    const entries = await audit.list({ fromSeq: before + 1, limit: 10, order: 'asc' });
    expect(entries.map((e) => [e.action, e.target])).toEqual([['alert.acknowledged', `alert:${alertId}`]]);
    expect(JSON.parse((await cli(['alerts', 'list', '--status', 'open', '--json'])).stdout)).toEqual([]);
    const missing = await cli(['alerts', 'ack', 'alt_nope']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('No such alert.');
  });
});

describe('audit routes and `keywarden audit`', () => {
  it('prints the head, verifies, exports and verifies the export offline', async () => {
    const head = await cli(['audit', 'head']);
    const anchor = head.stdout.trim();
    expect(anchor).toMatch(/^\d+:[0-9a-f]{64}$/);
    const verify = await cli(['audit', 'verify', '--head', anchor]);
    expect(verify).toMatchObject({ status: 0 });
    expect(verify.stdout).toContain('Audit log intact');

    const exported = await cli(['audit', 'export', '--out', 'audit.jsonl', '--json']);
    expect(JSON.parse(exported.stdout)).toMatchObject({ entries: Number(anchor.split(':')[0]) });
    expect((await cli(['audit', 'verify', '--file', 'audit.jsonl', '--head', anchor])).status).toBe(0);

    const file = path.join(dir, 'audit.jsonl');
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    const second = JSON.parse(lines[1]!) as { target: string };
    lines[1] = JSON.stringify({ ...second, target: `${second.target}-edited` });
    await writeFile(path.join(dir, 'edited.jsonl'), `${lines.join('\n')}\n`);
    const edited = await cli(['audit', 'verify', '--file', 'edited.jsonl', '--json']);
    expect(edited.status).toBe(1);
    expect(JSON.parse(edited.stdout)).toMatchObject({ ok: false, seq: 2, reason: 'hash_mismatch' });

    const ndjson = await (await get('/audit/export')).text();
    expect(ndjson.trim().split('\n')).toHaveLength(lines.length);
  });

  it('names the tampered entry on the server, and catches truncation against a saved head', async () => {
    const anchor = (await cli(['audit', 'head'])).stdout.trim();
    store.db.prepare("UPDATE audit_log SET actor = 'admin:someone' WHERE seq = 2").run();
    const tampered = await cli(['audit', 'verify']);
    expect(tampered.status).toBe(1);
    expect(tampered.stdout).toContain('TAMPERED at entry 2 (hash_mismatch)');
    store.db.prepare("UPDATE audit_log SET actor = 'admin:adm_seed' WHERE seq = 2").run();
    expect((await cli(['audit', 'verify'])).status).toBe(0);

    const last = Number(anchor.split(':')[0]);
    store.db.prepare('DELETE FROM audit_log WHERE seq = ?').run(last);
    expect((await cli(['audit', 'verify'])).status).toBe(0);
    const truncated = await cli(['audit', 'verify', '--head', anchor, '--json']);
    expect(truncated.status).toBe(1);
    expect(JSON.parse(truncated.stdout)).toMatchObject({ ok: false, seq: last, reason: 'truncated' });
    expect((await cli(['audit', 'verify', '--head', 'nonsense'])).status).toBe(2);
  });
});

describe('usage rollup route', () => {
  it('groups by key as JSON and exports CSV without spreadsheet formulas', async () => {
    const json = (await (await get(`/usage/rollups?group_by=key&since=${NOW - 86_400_000}`)).json()) as { granularity: string; data: Array<{ group: string; requests: number }> };
    expect(json.granularity).toBe('hour');
    expect(json.data.map((r) => [r.group, r.requests]).sort()).toEqual([
      ['key_a', 1],
      ['key_b', 1],
    ]);
    const csvResponse = await get('/usage/rollups?group_by=model&format=csv');
    expect(csvResponse.headers.get('content-type')).toContain('text/csv');
    const csv = await csvResponse.text();
    expect(csv.split('\r\n')[0]).toBe('model,requests,errors,prompt_tokens,completion_tokens,cached_tokens,reasoning_tokens,total_tokens,cost_usd,unpriced_requests,avg_latency_ms,max_latency_ms');
    expect(csv).toContain(`"'=HYPERLINK(""x"")",1,`);
    expect((await get('/usage/rollups?group_by=model&key_id=key_a')).status).toBe(400);
    const byHour = (await (await get('/usage/rollups?group_by=hour&key_id=key_a')).json()) as { data: Array<{ group: string }> };
    expect(byHour.data.map((r) => r.group)).toEqual([new Date(NOW - 3_600_000).toISOString()]);
  });
});
