import { request } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { isChecksummedAdminToken } from '../../src/keys/admin-token-format.js';
import { createLogger } from '../../src/log/logger.js';
import { startServer } from '../../src/server/start-server.js';
import { cli } from '../cli/run-cli.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { metrics: { token: 'scrape-Zq81xVb2Lw9Rt5Ny3Mk7Hc4Pj6Gd0Fs' } } });
});
afterAll(async () => {
  await h.close();
});

interface Issued {
  id: string;
  token: string;
  role: string;
  display: string;
}

async function call(token: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${h.server.url}/admin/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function issue(role: string, extra: Record<string, unknown> = {}): Promise<Issued> {
  const res = await h.admin<Issued>('POST', '/admin-tokens', { name: `${role}-token`, role, ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

const errorCode = (body: Record<string, unknown>): unknown => (body.error as { code?: unknown } | undefined)?.code;

/** A raw request, so the path reaches the server exactly as written (fetch would resolve dot segments). */
function rawRequest(token: string, method: string, rawPath: string, body: string): Promise<number> {
  const url = new URL(h.server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path: rawPath, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('admin token roles, enforced by the API', () => {
  it('issues checksummed kwadm_ tokens that the bootstrap owner can mint', async () => {
    const viewer = await issue('viewer');
    expect(viewer.token).toMatch(/^kwadm_[0-9A-Za-z]{46}$/);
    expect(isChecksummedAdminToken(viewer.token)).toBe(true);
    expect(viewer.display).toBe(`kwadm_…${viewer.token.slice(-4)}`);
  });

  it('a viewer reads but cannot create, revoke or mint anything (403)', async () => {
    const { token } = await issue('viewer');
    expect((await call(token, 'GET', '/keys')).status).toBe(200);
    expect((await call(token, 'GET', '/audit/verify')).status).toBe(200);
    const create = await call(token, 'POST', '/keys', { name: 'from-viewer' });
    expect(create.status).toBe(403);
    expect(errorCode(create.body)).toBe('admin_role_forbidden');
    const { id } = await h.createKey({ name: 'target' });
    expect((await call(token, 'POST', `/keys/${id}/revoke`)).status).toBe(403);
    expect((await call(token, 'PATCH', `/keys/${id}`, { name: 'renamed' })).status).toBe(403);
    expect((await call(token, 'POST', '/admin-tokens', { name: 'escalate', role: 'owner' })).status).toBe(403);
    expect((await call(token, 'GET', '/admin-tokens')).status).toBe(403);
    // Nothing happened: the key still works and kept its name.
    expect((await h.admin<{ name: string; status: string }>('GET', `/keys/${id}`)).body).toMatchObject({ name: 'target', status: 'active' });
  });

  it('an admin manages keys but cannot add or remove upstreams, or mint tokens', async () => {
    const { token } = await issue('admin');
    expect((await call(token, 'POST', '/keys', { name: 'from-admin' })).status).toBe(201);
    const add = await call(token, 'POST', '/upstreams', { name: 'evil', provider: 'openai-compatible', base_url: 'https://evil.example', keys: ['sk-test-1234567890abcdef'] });
    expect(add.status).toBe(403);
    expect(errorCode(add.body)).toBe('admin_role_forbidden');
    expect((await call(token, 'DELETE', '/upstreams/fake')).status).toBe(403);
    expect((await call(token, 'POST', '/admin-tokens', { name: 'escalate', role: 'owner' })).status).toBe(403);
    // Dot segments and encoded dots are resolved before the role check, so they cannot smuggle an upstream write.
    const body = JSON.stringify({ name: 'evil2', provider: 'openai-compatible', base_url: 'https://evil.example', keys: ['sk-test-1234567890abcdef'] });
    expect(await rawRequest(token, 'POST', '/admin/v1/keys/../upstreams', body)).toBe(403);
    expect(await rawRequest(token, 'POST', '/admin/v1/keys/%2e%2e/upstreams', body)).toBe(403);
    const upstreams = (await h.admin<{ data: Array<{ name: string }> }>('GET', '/upstreams')).body.data.map((u) => u.name);
    expect(upstreams).toEqual(['fake']);
  });

  it('an expired token is 401 on its next request', async () => {
    const { token } = await issue('admin', { expires: '1h' });
    expect((await call(token, 'GET', '/keys')).status).toBe(200);
    h.clock.advance(2 * 3_600_000);
    const after = await call(token, 'GET', '/keys');
    expect(after.status).toBe(401);
    expect(errorCode(after.body)).toBe('invalid_admin_token');
  });

  it('rejects an expiry in the past or malformed', async () => {
    expect((await h.admin('POST', '/admin-tokens', { name: 'x', role: 'viewer', expires: '2001-01-01' })).status).toBe(400);
    expect((await h.admin('POST', '/admin-tokens', { name: 'x', role: 'viewer', expires: 'soon' })).status).toBe(400);
    expect((await h.admin('POST', '/admin-tokens', { name: 'x', role: 'root' })).status).toBe(400);
    expect((await h.admin('POST', '/admin-tokens', { name: 'x', role: 'viewer', extra: true })).status).toBe(400);
  });

  it('a revoked token is 401 on the very next request; creation and revocation are audited', async () => {
    const env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken };
    const created = await cli(['tokens', 'create', '--name', 'ci', '--role', 'admin', '--json'], env);
    expect(created.status).toBe(0);
    const { id, token } = JSON.parse(created.stdout) as Issued;
    expect((await call(token, 'GET', '/keys')).status).toBe(200);
    const revoked = await cli(['tokens', 'revoke', id], env);
    expect(revoked.status).toBe(0);
    expect((await call(token, 'GET', '/keys')).status).toBe(401);
    expect((await call(token, 'POST', '/keys', { name: 'after-revoke' })).status).toBe(401);
    const audit = (await h.admin<{ data: Array<{ action: string; target: string; actor: string }> }>('GET', '/audit?limit=5000')).body.data;
    const mine = audit.filter((e) => e.target === `admin_token:${id}`).map((e) => e.action);
    expect(mine).toEqual(['admin_token.issued', 'admin_token.revoked']);
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it('lists tokens with prefix and last 4 only: no secret in the API, the CLI, the database or the audit log', async () => {
    const { token, id } = await issue('viewer');
    await call(token, 'GET', '/keys');
    const env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken };
    const table = await cli(['tokens', 'list'], env);
    const json = await cli(['tokens', 'list', '--json'], env);
    const api = JSON.stringify((await h.admin('GET', '/admin-tokens')).body);
    for (const text of [table.stdout, json.stdout, api]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(h.adminToken);
      expect(text).not.toContain(token.slice(6, 30));
    }
    expect(table.stdout).toContain(`kwadm_…${token.slice(-4)}`);
    const listed = (JSON.parse(json.stdout) as Array<{ id: string; role: string; last_used_at: string | null }>).find((t) => t.id === id);
    expect(listed).toMatchObject({ role: 'viewer' });
    expect(listed?.last_used_at).not.toBeNull();
    for (const name of readdirSync(h.dataDir)) {
      const bytes = readFileSync(path.join(h.dataDir, name));
      expect([name, bytes.includes(token)]).toEqual([name, false]);
      expect([name, bytes.includes(h.adminToken)]).toEqual([name, false]);
    }
  });
});

describe('/metrics is not public', () => {
  const metrics = (headers: Record<string, string> = {}) => fetch(`${h.server.url}/metrics`, { headers });

  it('is 401 (OpenAI-shaped) without a token, with a wrong one, or with a virtual key', async () => {
    const none = await metrics();
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.json()).toMatchObject({ error: { code: 'invalid_admin_token', type: 'invalid_request_error' } });
    expect((await metrics({ authorization: 'Bearer kwadm_wrongwrongwrongwrongwrongwrongwrong' })).status).toBe(401);
    expect((await metrics({ authorization: `Basic ${Buffer.from(`x:${h.adminToken}`).toString('base64')}` })).status).toBe(401);
    const { key } = await h.createKey({ name: 'app' });
    expect((await metrics({ authorization: `Bearer ${key}` })).status).toBe(401);
  });

  it('serves any admin role and the dedicated metrics.token; not a revoked token', async () => {
    const viewer = await issue('viewer');
    const ok = await metrics({ authorization: `Bearer ${viewer.token}` });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('keywarden_');
    expect((await metrics({ authorization: 'Bearer scrape-Zq81xVb2Lw9Rt5Ny3Mk7Hc4Pj6Gd0Fs' })).status).toBe(200);
    expect((await metrics({ authorization: 'Bearer scrape-Zq81xVb2Lw9Rt5Ny3Mk7Hc4Pj6Gd0F' })).status).toBe(401);
    await h.admin('POST', `/admin-tokens/${viewer.id}/revoke`);
    expect((await metrics({ authorization: `Bearer ${viewer.token}` })).status).toBe(401);
  });
});

describe('KEYWARDEN_ADMIN_TOKEN strength', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const weak = [
    'x',
    'kwadm_short',
    'a'.repeat(40),
    'passwordpasswordpassword12345678',
    'abcdefghijklmnopqrstuvwxyz0123456789',
    'kwadm_' + 'ab'.repeat(20),
    'correct horse battery staple correct horse',
  ];

  it.each(weak.map((t) => [t.length, t]))('refuses a weak token (%i chars) at start, never echoing or storing it', async (_len, token) => {
    const parent = await mkdtemp(path.join(tmpdir(), 'kw-weak-'));
    dirs.push(parent);
    const dataDir = path.join(parent, 'data');
    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (c: Buffer) => (logText += c.toString()));
    const attempt = startServer({
      config: parseConfig({ dataDir, server: { host: '127.0.0.1', port: 0 } }),
      env: { KEYWARDEN_ADMIN_TOKEN: token },
      logger: createLogger('debug', logs),
    });
    await expect(attempt).rejects.toMatchObject({ code: 'KW_WEAK_ADMIN_TOKEN' });
    const error = await attempt.then(
      () => new Error('started'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toContain('KEYWARDEN_ADMIN_TOKEN is too weak');
    if (token.length >= 4) expect(error.message).not.toContain(token);
    expect(logText).not.toContain(token);
    // Refused before the data dir was even opened: nothing can have been stored.
    expect(readdirSync(parent)).toEqual([]);
  });

  it('the CLI exits non-zero with the message', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'kw-weak-cli-'));
    dirs.push(parent);
    const run = await cli(['serve', '--port', '0', '--data', path.join(parent, 'd')], { KEYWARDEN_ADMIN_TOKEN: 'hunter2' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('KEYWARDEN_ADMIN_TOKEN is too weak');
    expect(run.stderr).toContain('KW_WEAK_ADMIN_TOKEN');
    expect(run.stderr).not.toContain('hunter2');
  });
});
