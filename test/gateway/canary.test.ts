import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hasValidChecksum } from '../../src/keys/index.js';
import { scanText } from '../../src/scanner/engine/engine.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { waitFor } from '../support/wait-for.js';
import { rawRequest } from './raw-http.js';

/** OpenAI's own refusal for a key whose quota ran out, byte for byte. */
const OPENAI_QUOTA_BODY = {
  error: {
    message:
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
    type: 'insufficient_quota',
    param: null,
    code: 'insufficient_quota',
  },
};

interface AlertRow {
  id: string;
  detector: string;
  severity: string;
  key_id: string | null;
  details: Record<string, unknown>;
  occurrences: number;
}
interface AuditRow {
  action: string;
  target: string;
  after: Record<string, unknown> | null;
}
interface UsageRow {
  keyId: string;
  status: number;
  costUsd: number;
  upstreamId: string | null;
}

let h: Harness;
beforeAll(async () => {
  // 127.0.0.1 is a trusted proxy here, so X-Forwarded-For names the "attacker's" address in the odd-path tests.
  h = await startHarness({ config: { server: { trustedProxies: ['127.0.0.1'] } } });
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

async function canary(name = 'staging .env'): Promise<{ id: string; key: string }> {
  return h.createKey({ name, canary: true });
}

async function canaryAlerts(keyId: string, atLeast = 1): Promise<AlertRow[]> {
  return waitFor(
    async () => {
      await h.server.monitor?.canaryAlertsSettled();
      const { body } = await h.admin<{ data: AlertRow[] }>('GET', `/alerts?key_id=${keyId}&detector=canary_key&status=all`);
      return body.data.length >= atLeast ? body.data : null;
    },
    { what: `${atLeast} canary alert(s) for ${keyId}` },
  );
}

async function auditEntries(): Promise<AuditRow[]> {
  const { body } = await h.admin<{ data: AuditRow[] }>('GET', '/audit?limit=1000');
  return body.data;
}

async function usageOf(keyId: string): Promise<UsageRow[]> {
  await h.server.gateway.usage.flush();
  return (await h.admin<{ data: UsageRow[] }>('GET', `/usage/records?key_id=${keyId}`)).body.data;
}

const chat = (client: OpenAI): Promise<unknown> =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

describe('canary keys', () => {
  it('look like any other key: same format and checksum; only admins see the canary flag', async () => {
    const { id, key } = await canary();
    const normal = await h.createKey({ name: 'normal' });
    expect(key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
    expect(key.length).toBe(normal.key.length);
    expect(hasValidChecksum(key)).toBe(true);
    const shown = await h.admin<Record<string, unknown>>('GET', `/keys/${id}`);
    expect(shown.body.canary).toBe(true);
    expect((await h.admin<Record<string, unknown>>('GET', `/keys/${normal.id}`)).body.canary).toBe(false);
    // Same listing shape: the same fields, only the flag's value differs.
    expect(Object.keys(shown.body).sort()).toEqual(Object.keys((await h.admin<Record<string, unknown>>('GET', `/keys/${normal.id}`)).body).sort());
    // The scanner still finds it: it is meant to be found.
    expect(scanText(`OPENAI_API_KEY=${key}\n`).some((f) => f.secret === key)).toBe(true);
  });

  it('one SDK request: exact insufficient_quota 429, critical alert with IP, user agent, endpoint, method; nothing forwarded or spent; audited', async () => {
    const { id, key } = await canary('laptop .env');
    const before = h.fake.requestCount;
    const err = await apiErrorOf(chat(h.client(key, { defaultHeaders: { 'user-agent': 'curious-thief/1.0' } })));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.status).toBe(429);
    expect(err.code).toBe('insufficient_quota');
    expect(err.type).toBe('insufficient_quota');
    expect(h.fake.requestCount).toBe(before);

    const [alert] = await canaryAlerts(id);
    expect(alert?.severity).toBe('critical');
    expect(alert?.details).toMatchObject({ ip: '127.0.0.1', user_agent: 'curious-thief/1.0', method: 'POST', endpoint: '/v1/chat/completions' });
    expect(typeof alert?.details.at).toBe('string');

    const usage = await usageOf(id);
    expect(usage.length).toBeGreaterThan(0);
    expect(usage.every((u) => u.costUsd === 0 && u.upstreamId === null && u.status === 429)).toBe(true);
    const listed = await h.admin<{ data: Array<{ id: string; spend_today_usd: number; canary: boolean }> }>('GET', '/keys');
    const row = listed.body.data.find((k) => k.id === id);
    expect(row?.canary).toBe(true);
    expect(row?.spend_today_usd).toBe(0);

    const audit = await auditEntries();
    expect(audit.some((e) => e.action === 'key.created' && e.target === `key:${id}` && e.after?.canary === true)).toBe(true);
    const trip = audit.find((e) => e.action === 'security.canary_tripped' && e.target === `key:${id}`);
    expect(trip?.after).toMatchObject({ ip: '127.0.0.1', endpoint: '/v1/chat/completions', method: 'POST' });
    // The secret is never stored or echoed anywhere an admin can read.
    expect(JSON.stringify(audit)).not.toContain(key);
    expect(JSON.stringify(await h.admin('GET', '/alerts?status=all'))).not.toContain(key);
    expect(h.logs()).not.toContain(key);
  });

  it('answers with the exact OpenAI body and the headers of a real spent-quota refusal', async () => {
    const { key } = await canary();
    const payload = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const res = await fetch(`${h.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: payload,
    });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual(OPENAI_QUOTA_BODY);

    // A real key refused for its spent (lifetime) budget: the canary must carry the same header names.
    const real = await h.createKey({ name: 'spent', limits: { budgets: [{ usd: 0.000001, period: 'lifetime' }] } });
    const refused = await fetch(`${h.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${real.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(refused.status).toBe(429);
    await refused.arrayBuffer();
    const names = (r: Response): string[] => [...r.headers.keys()].filter((n) => n !== 'date').sort();
    expect(names(res)).toEqual(names(refused));
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(res.headers.get('connection')).not.toBe('close');
  });

  it('streaming requests are refused the same way and never reach the upstream', async () => {
    const { id, key } = await canary();
    const before = h.fake.requestCount;
    const err = await apiErrorOf(
      h.client(key).chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    );
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.code).toBe('insufficient_quota');
    expect(h.fake.requestCount).toBe(before);
    expect((await canaryAlerts(id))[0]?.details.endpoint).toBe('/v1/chat/completions');
  });

  it('any /v1 path, method and auth header trips it, even paths the gateway has no route for', async () => {
    const { id, key } = await canary();
    const before = h.fake.requestCount;
    await expect(h.client(key).models.list()).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await expect(h.client(key).embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    for (const [method, path] of [
      ['DELETE', '/v1/files/file-abc'],
      ['GET', '/v1/no/such/endpoint?x=1'],
      ['POST', '/v1//chat/../chat/completions'],
      ['PUT', '/v1/%2e%2e/admin'],
    ] as const) {
      const res = await fetch(`${h.server.url}${path}`, { method, headers: { 'api-key': key, 'x-forwarded-for': '203.0.113.77' } });
      const text = await res.text();
      // Whatever the path, the answer is the quota refusal or the gateway's usual refusal of a malformed path;
      // never a forward, never a leak of the canary's nature.
      expect([429, 400, 404]).toContain(res.status);
      expect(text.toLowerCase()).not.toContain('canary');
    }
    expect(h.fake.requestCount).toBe(before);
    const alerts = await canaryAlerts(id, 2);
    // One alert per source address, repeats folded into it.
    const byIp = new Map(alerts.map((a) => [a.details.ip, a]));
    expect(byIp.get('127.0.0.1')?.occurrences).toBeGreaterThanOrEqual(2);
    expect(byIp.get('203.0.113.77')?.details.method).toBeDefined();
  });

  it('trips before any state check: a revoked, expired or scope-restricted canary still alerts and still says "quota"', async () => {
    const { id, key } = await h.createKey({ name: 'revoked canary', canary: true, models: ['gpt-4o-mini'], ip_allowlist: ['10.0.0.0/8'] });
    expect((await h.admin('POST', `/keys/${id}/revoke`, {})).status).toBe(200);
    const err = await apiErrorOf(h.client(key).chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }));
    expect(err.code).toBe('insufficient_quota');
    expect((await canaryAlerts(id)).length).toBe(1);
  });

  it('a flood of concurrent uses from one address is one alert (deduplicated), with every request refused', async () => {
    const { id, key } = await canary();
    const before = h.fake.requestCount;
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => chat(h.client(key))));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof OpenAI.RateLimitError)).toBe(true);
    expect(h.fake.requestCount).toBe(before);
    const alerts = await canaryAlerts(id);
    await h.server.monitor?.canaryAlertsSettled();
    const all = (await h.admin<{ data: AlertRow[] }>('GET', `/alerts?key_id=${id}&detector=canary_key&status=all`)).body.data;
    expect(all.length).toBe(1);
    expect(all[0]?.occurrences).toBe(40);
    expect(alerts[0]?.id).toBe(all[0]?.id);
  });

  it('a hostile, huge user agent over a raw socket is refused the same way and clipped in the alert', async () => {
    const { id, key } = await canary();
    const hugeAgent = `evil-${'A'.repeat(5000)}`;
    const raw = await rawRequest(
      h.server.url,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nUser-Agent: ${hugeAgent}\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"model":"x"`,
    );
    expect(raw.startsWith('HTTP/1.1 429')).toBe(true);
    const [alert] = await canaryAlerts(id);
    expect(String(alert?.details.user_agent).length).toBeLessThanOrEqual(201);
  });

  it('canary keys cannot be created by a malformed request', async () => {
    expect((await h.admin('POST', '/keys', { name: 'x', canary: 'yes' })).status).toBe(400);
    expect((await h.admin('POST', '/keys', { name: 'x', canary: 1 })).status).toBe(400);
    // And cannot be switched on or off later: the flag is not an updatable field.
    const { id } = await h.createKey({ name: 'plain' });
    expect((await h.admin('PATCH', `/keys/${id}`, { canary: true })).status).toBe(400);
  });
});
