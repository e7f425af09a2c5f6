import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundLookup } from '../../src/policy/outbound-connect.js';
import type { UpstreamRecord } from '../../src/store/index.js';
import { cli } from '../cli/run-cli.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

/** The SDK's error, as the client sees it. */
async function sdkError(promise: Promise<unknown>): Promise<{ status: number; code: string | null; message: string }> {
  const err = await apiErrorOf(promise);
  return { status: Number(err.status), code: typeof err.code === 'string' ? err.code : null, message: err.message };
}

/** A resolver that plays a rebinding attacker: public-looking names that answer with internal addresses. */
function rebindingLookup(table: Record<string, string[]>): { lookup: OutboundLookup; asked: string[] } {
  const asked: string[] = [];
  const lookup: OutboundLookup = (hostname, _options, callback) => {
    asked.push(hostname);
    const addresses = table[hostname.toLowerCase()];
    if (addresses === undefined) return callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
  return { lookup, asked };
}

describe('upstream base URLs are outbound policy (admin API and CLI)', () => {
  let h: Harness;
  beforeAll(async () => {
    // No allowlist at all: the secure default of `npm start`.
    h = await startHarness({ withUpstream: false, config: { outbound: { allow: [] } } });
  });
  afterAll(() => h.close());

  const bypasses = [
    'file:///etc/passwd',
    'gopher://127.0.0.1:6379/_FLUSHALL',
    'ftp://example.com/v1',
    'data:text/plain,hello',
    'javascript:alert(1)',
    'http://api.openai.com/v1',
    'https://user:hunter2pass@api.openai.com/v1',
    'https://api.openai.com/v1#x',
    'http://169.254.169.254/latest/meta-data/iam/',
    'https://169.254.169.254/v1',
    'https://2852039166/v1',
    'https://0xa9.0xfe.0xa9.0xfe/v1',
    'https://0251.0376.0251.0376/v1',
    'https://169.254.169.254./v1',
    'https://[::ffff:a9fe:a9fe]/v1',
    'https://[::ffff:169.254.169.254]/v1',
    'https://[::a9fe:a9fe]/v1',
    'https://[64:ff9b::a9fe:a9fe]/v1',
    'https://[fd00:ec2::254]/v1',
    'https://100.100.100.200/v1',
    'https://metadata.google.internal/v1',
    'https://metadata.google.internal./v1',
    'https://localhost/v1',
    'https://localhost./v1',
    'https://127.0.0.1/v1',
    'https://127.1/v1',
    'https://[::1]/v1',
    'https://0.0.0.0/v1',
    'https://10.0.0.5/v1',
    'https://192.168.1.10/v1',
    'https://[fe80::1]/v1',
  ];

  it.each(bypasses)('refuses %s with a clear 400 that never echoes credentials', async (baseUrl) => {
    const res = await h.admin<{ error: { code: string; param: string; message: string } }>('POST', '/upstreams', {
      name: `u${Math.random().toString(36).slice(2)}`,
      provider: 'openai-compatible',
      base_url: baseUrl,
      keys: ['sk-test-0123456789abcdefghij'],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.param).toBe('base_url');
    expect(res.body.error.message).toMatch(/^base_url is not allowed: /);
    expect(res.body.error.message).not.toContain('hunter2pass');
  });

  it('stored nothing for the refused URLs, and the CLI refuses the same way (exit 2)', async () => {
    expect((await h.admin<{ data: unknown[] }>('GET', '/upstreams')).body.data).toEqual([]);
    const env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken, UPSTREAM_KEY: 'sk-test-0123456789abcdefghij' };
    const run = await cli(['upstreams', 'add', '--name', 'meta', '--provider', 'openai-compatible', '--base-url', 'http://[::ffff:a9fe:a9fe]/', '--key-env', 'UPSTREAM_KEY'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/base_url is not allowed/);
    const audit = await h.admin<{ data: Array<{ action: string }> }>('GET', '/audit');
    expect(audit.body.data.filter((entry) => entry.action === 'upstream.added')).toEqual([]);
  });

  it('the fake upstream on 127.0.0.1 itself is refused without an allowlist entry', async () => {
    const res = await h.admin('POST', '/upstreams', { name: 'local', provider: 'openai-compatible', base_url: h.fake.url, keys: [h.upstreamKey] });
    expect(res.status).toBe(400);
  });
});

describe('an allowlisted on-prem upstream works end to end', () => {
  let h: Harness;
  beforeAll(async () => {
    // Written the way on-prem endpoints are: a name, resolved to the fake's loopback address.
    const { lookup } = rebindingLookup({ 'llm.internal': ['127.0.0.1'] });
    h = await startHarness({ withUpstream: false, outboundLookup: lookup, config: { outbound: { allow: ['llm.internal'] } } });
  });
  afterAll(() => h.close());

  it('accepts http://llm.internal:PORT/v1 and serves a chat completion through the SDK', async () => {
    const port = new URL(h.fake.url).port;
    const added = await h.admin('POST', '/upstreams', { name: 'onprem', provider: 'openai-compatible', base_url: `http://llm.internal:${port}/v1`, keys: [h.upstreamKey] });
    expect(added.status).toBe(201);
    const { key } = await h.createKey();
    const completion = await h.client(key).chat.completions.create(chat);
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect(h.fake.requests.length).toBe(1);
    // Not listed: the same fake under another internal name is refused at creation.
    const other = await h.admin('POST', '/upstreams', { name: 'other', provider: 'openai-compatible', base_url: `http://gpu.internal:${port}/v1`, keys: [h.upstreamKey] });
    expect(other.status).toBe(400);
  });
});

describe('DNS rebinding: names are checked again when the gateway connects', () => {
  let h: Harness;
  let resolver: ReturnType<typeof rebindingLookup>;
  // A plain TCP listener on loopback that counts every connection: an https upstream pointed at it would at least
  // open a socket (the TLS handshake then fails), so zero connections proves the connect-time refusal.
  let trap: TcpServer;
  let trapPort = 0;
  let trapConnections = 0;
  beforeAll(async () => {
    trap = createTcpServer((socket) => {
      trapConnections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapPort = (trap.address() as AddressInfo).port;
    resolver = rebindingLookup({
      'api.rebind.example': ['127.0.0.1'],
      'meta.rebind.example': ['169.254.169.254'],
      'mixed.rebind.example': ['93.184.216.34', '127.0.0.1'],
      'v6.rebind.example': ['::ffff:127.0.0.1'],
      'control.rebind.example': ['127.0.0.1'],
    });
    h = await startHarness({
      withUpstream: false,
      outboundLookup: resolver.lookup,
      config: { outbound: { allow: [] }, upstream: { connectRetries: 0 } },
    });
  });
  afterAll(async () => {
    await h.close();
    await new Promise((resolve) => trap.close(resolve));
  });

  it.each(['api.rebind.example', 'meta.rebind.example', 'mixed.rebind.example', 'v6.rebind.example'])(
    '%s passes the create-time check as a public https name but is refused at connect time',
    async (name) => {
      const added = await h.admin<{ id: string }>('POST', '/upstreams', { name, provider: 'openai-compatible', base_url: `https://${name}:${trapPort}/v1`, keys: [h.upstreamKey] });
      expect(added.status).toBe(201);
      const { key } = await h.createKey({ upstream: added.body.id });
      const err = await sdkError(h.client(key).chat.completions.create(chat));
      expect(err.status).toBe(502);
      expect(err.code).toBe('upstream_unavailable');
      expect(trapConnections).toBe(0);
      expect(resolver.asked).toContain(name);
    },
  );

  it('control: the same trap is reached when the name is allowlisted, so the zero above is the guard', async () => {
    const allowing = await startHarness({
      withUpstream: false,
      outboundLookup: resolver.lookup,
      config: { outbound: { allow: ['control.rebind.example'] }, upstream: { connectRetries: 0 } },
    });
    try {
      const added = await allowing.admin<{ id: string }>('POST', '/upstreams', { name: 'control', provider: 'openai-compatible', base_url: `https://control.rebind.example:${trapPort}/v1`, keys: [allowing.upstreamKey] });
      const { key } = await allowing.createKey({ upstream: added.body.id });
      expect((await sdkError(allowing.client(key).chat.completions.create(chat))).status).toBe(502);
      expect(trapConnections).toBeGreaterThan(0);
    } finally {
      await allowing.close();
      trapConnections = 0;
    }
  });
});

describe('one bad upstream record never breaks the others', () => {
  let h: Harness;
  const secretPassword = 'old-record-pw-9f8e7d';
  const bad = (id: string, overrides: Partial<UpstreamRecord>): UpstreamRecord => ({
    id,
    name: id,
    provider: 'openai-compatible',
    baseUrl: 'https://api.example.com/v1',
    apiVersion: null,
    deployments: {},
    keys: [],
    isDefault: false,
    createdAt: Date.now(),
    ...overrides,
  });

  beforeAll(async () => {
    h = await startHarness();
    const store = h.server.services.store;
    // Records written before the policy existed, or edited behind the API's back, straight through the Store.
    await store.upstreams.insert(bad('ups_notaurl', { baseUrl: 'not a url at all' }));
    await store.upstreams.insert(bad('ups_gopher', { baseUrl: 'gopher://127.0.0.1:6379/_x' }));
    await store.upstreams.insert(bad('ups_userinfo', { baseUrl: `https://admin:${secretPassword}@169.254.169.254/v1` }));
    await store.upstreams.insert(bad('ups_badkey', { keys: [{ id: 'uk_x', ciphertext: 'v1:garbage', last4: 'abcd' }] }));
    await h.server.gateway.upstreams.invalidate();
  });
  afterAll(() => h.close());

  it('keys on the good upstream keep working while each bad record fails only its own keys (503 + log line)', async () => {
    const good = (await h.admin<{ data: Array<{ id: string; name: string }> }>('GET', '/upstreams')).body.data.find((u) => u.name === 'fake');
    expect(good).toBeDefined();
    const goodKey = await h.createKey({ upstream: good?.id });
    for (const id of ['ups_notaurl', 'ups_gopher', 'ups_userinfo', 'ups_badkey']) {
      const { key } = await h.createKey({ upstream: id });
      const err = await sdkError(h.client(key).chat.completions.create(chat));
      expect(err.status, id).toBe(503);
      expect(err.code, id).toBe('upstream_misconfigured');
      // The good upstream answers between and after the bad ones, on the same registry.
      const ok = await h.client(goodKey.key).chat.completions.create(chat);
      expect(ok.choices.length).toBe(1);
    }
    const logs = h.logs();
    for (const id of ['ups_notaurl', 'ups_gopher', 'ups_userinfo', 'ups_badkey']) {
      expect(logs).toMatch(new RegExp(`upstream record is unusable[^\\n]*${id}`));
    }
    expect(logs).not.toContain(secretPassword);
  });

  it('never shows the old record userinfo back: API, CLI and audit log', async () => {
    const listed = await h.admin('GET', '/upstreams');
    expect(JSON.stringify(listed.body)).not.toContain(secretPassword);
    expect(JSON.stringify(listed.body)).toContain('https://***@169.254.169.254/v1');
    const env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken };
    const run = await cli(['upstreams', 'list'], env);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('ups_userinfo');
    expect(run.stdout).not.toContain(secretPassword);
    // A key is still bound to it (the test above), so its keys move to the good upstream as it goes.
    const refused = await cli(['upstreams', 'remove', 'ups_userinfo', '--json'], env);
    expect(refused.status).toBe(2);
    expect(refused.stdout + refused.stderr).not.toContain(secretPassword);
    const removed = await cli(['upstreams', 'remove', 'ups_userinfo', '--reassign-to', 'fake', '--json'], env);
    expect(removed.status).toBe(0);
    expect(removed.stdout).not.toContain(secretPassword);
    const audit = await fetch(`${h.server.url}/admin/v1/audit/export`, { headers: { authorization: `Bearer ${h.adminToken}` } });
    const exported = await audit.text();
    expect(exported).toContain('upstream.removed');
    expect(exported).not.toContain(secretPassword);
  });
});
