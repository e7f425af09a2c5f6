import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/run-cli.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { acquireTestPostgres, releaseTestPostgres, type TestPostgres } from '../support/postgres-server.js';

/**
 * A populated SQLite data dir (keys, usage, alerts, audit, admin tokens, projects, a sealed upstream key) is copied
 * with `keywarden migrate`; a gateway on PostgreSQL then serves the old keys through the official SDK, keeps
 * refusing the revoked one, and its audit chain verifies.
 */
let pg: TestPostgres;
let source: Harness;
const env = { KEYWARDEN_MASTER_KEY: randomBytes(32).toString('hex') };
const keys: Record<string, { id: string; key: string }> = {};
let viewerToken = '';
let usageBefore = 0;
let auditBefore = 0;

const chat = (client: OpenAI): Promise<unknown> => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

beforeAll(async () => {
  pg = await acquireTestPostgres();
  source = await startHarness({ env });
  expect(source.server.services.store.kind).toBe('sqlite');
  const project = await source.admin<{ id: string }>('POST', '/projects', { name: 'team-a', limits: { budgets: [{ usd: 5, period: 'month' }] } });
  expect(project.status).toBe(201);
  keys.plain = await source.createKey({ name: 'plain' });
  keys.budgeted = await source.createKey({ name: 'budgeted', project: 'team-a', limits: { budgets: [{ usd: 1, period: 'day' }] } });
  keys.revoked = await source.createKey({ name: 'revoked' });
  await source.admin('POST', `/keys/${keys.revoked.id}/revoke`);
  for (const k of [keys.plain, keys.budgeted, keys.plain]) await chat(source.client(k.key));
  await source.server.gateway.usage.flush();
  const token = await source.admin<{ token: string }>('POST', '/admin-tokens', { name: 'viewer', role: 'viewer' });
  expect(token.status).toBe(201);
  viewerToken = token.body.token;
  await source.server.services.store.monitorRepositories().alerts.insert({
    id: 'alr_migrated', detector: 'key_probing', severity: 'warning', subject: 'ip:203.0.113.9', keyId: null, title: 'probing', message: 'm',
    details: { attempts: 50 }, notified: true, suspended: false, occurrences: 3, createdAt: Date.now(), lastSeenAt: Date.now(), acknowledgedAt: null, acknowledgedBy: null,
  });
  usageBefore = (await source.admin<{ data: unknown[] }>('GET', '/usage/records')).body.data.length;
  auditBefore = (await source.admin<{ entries: number; ok: boolean }>('GET', '/audit/verify')).body.entries;
  // The gateway stops; its fake upstream stays up for the gateway on PostgreSQL (the copied upstream points at it).
  await source.server.close();
}, 60_000);

afterAll(async () => {
  await source.fake.close();
  await rm(source.dataDir, { recursive: true, force: true });
  await releaseTestPostgres();
}, 30_000);

describe('keywarden migrate --from sqlite:… --to postgres://…', () => {
  let url: string;
  let target: Harness;

  afterAll(async () => {
    await target?.close();
  });

  it('refuses a URL that is not PostgreSQL and a directory with no database', async () => {
    const bad = await cli(['migrate', '--from', `sqlite:${source.dataDir}`, '--to', 'mysql://x'], env);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/postgres:\/\//);
    const empty = await cli(['migrate', '--from', 'sqlite:/nonexistent-kw-dir', '--to', 'postgres://127.0.0.1:1/x'], env);
    expect(empty.status).not.toBe(0);
  });

  it('copies everything, then refuses a second copy into the now non-empty target unless --force', async () => {
    url = await pg.createDatabase();
    const run = await cli(['migrate', '--from', `sqlite:${source.dataDir}`, '--to', url, '--json'], env);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as { tables: Record<string, number> };
    expect(report.tables.virtual_keys).toBe(3);
    expect(report.tables.usage).toBe(usageBefore);
    expect(report.tables.audit_log).toBe(auditBefore);
    expect(report.tables.alerts).toBe(1);
    expect(report.tables.projects).toBe(1);
    expect(report.tables.admin_tokens).toBe(2);
    // The sealed upstream key was copied sealed: its plaintext appears nowhere in the target.
    const upstreams = await pg.query(url, 'SELECT keys FROM upstreams');
    expect(JSON.stringify(upstreams.rows)).not.toContain(source.upstreamKey);

    const again = await cli(['migrate', '--from', `sqlite:${source.dataDir}`, '--to', url], env);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/not empty/);
    expect((await pg.query(url, 'SELECT COUNT(*)::int AS n FROM virtual_keys')).rows[0]).toEqual({ n: 3 });
    const forced = await cli(['migrate', '--from', `sqlite:${source.dataDir}`, '--to', url, '--force', '--json'], env);
    expect(forced.status).toBe(0);
    expect((await pg.query(url, 'SELECT COUNT(*)::int AS n FROM virtual_keys')).rows[0]).toEqual({ n: 3 });
    expect((await pg.query(url, 'SELECT COUNT(*)::int AS n FROM audit_log')).rows[0]).toEqual({ n: auditBefore });
  }, 60_000);

  it('a gateway on PostgreSQL serves the old keys, refuses the revoked one, and its audit chain verifies', async () => {
    target = await startHarness({ env, config: { store: { url } }, withUpstream: false });
    expect(target.server.services.store.kind).toBe('postgres');
    await chat(target.client(keys.plain!.key));
    await chat(target.client(keys.budgeted!.key));
    expect((await apiErrorOf(chat(target.client(keys.revoked!.key)))).code).toBe('key_revoked');
    // Spend before the move still counts: the budgeted key shows its settled spend from SQLite.
    const shown = await target.admin<{ budgets: Array<{ spent_usd: number }> }>('GET', `/keys/${keys.budgeted!.id}`);
    expect(shown.body.budgets[0]!.spent_usd).toBeGreaterThan(0);
    // The old admin token (viewer) still works, and the alert came along.
    const alerts = await fetch(`${target.server.url}/admin/v1/alerts`, { headers: { authorization: `Bearer ${viewerToken}` } });
    expect(alerts.status).toBe(200);
    expect(JSON.stringify(await alerts.json())).toContain('alr_migrated');
    const verify = await target.admin<{ ok: boolean; entries: number }>('GET', '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.entries).toBeGreaterThan(auditBefore);
    const cliVerify = await cli(['audit', 'verify'], { ...env, KEYWARDEN_URL: target.server.url, KEYWARDEN_ADMIN_TOKEN: target.adminToken });
    expect(cliVerify.stdout).toMatch(/Audit log intact/);
    expect(cliVerify.status).toBe(0);
    const records = await target.admin<{ data: unknown[] }>('GET', '/usage/records');
    expect(records.body.data.length).toBeGreaterThanOrEqual(usageBefore);
  }, 60_000);
});
