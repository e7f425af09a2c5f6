import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/monitor/clock.js';
import { verifyWebhookSignature } from '../../src/monitor/sinks/webhook-signature.js';
import type { UsageRecord } from '../../src/store/index.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { waitFor } from '../support/wait-for.js';
import { sqliteDbOf } from '../support/store-backends.js';
import { acquireTestPostgres, releaseTestPostgres, type TestPostgres } from '../support/postgres-server.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const START = Date.UTC(2026, 5, 1); // a Monday
const WEBHOOK_SECRET = 'whsec-test-0123456789abcdef';

interface AlertView {
  detector: string;
  subject: string;
  key_id: string | null;
  message: string;
  details: Record<string, unknown>;
  actions: { notified: boolean; suspended: boolean };
}

let h: Harness;
let clock: ManualClock;
let receiver: Server;
let pg: TestPostgres;
let pgUrl: string | null = null;
const delivered: Array<{ verified: boolean; body: { detector?: string; alert?: { id?: string; detector?: string } } }> = [];
let keyId: string;
let key: string;

async function alerts(detector: string): Promise<AlertView[]> {
  return (await h.admin<{ data: AlertView[] }>('GET', `/alerts?detector=${detector}`)).body.data;
}

/** Flushes gateway usage to the monitor, then lets one evaluation interval pass. */
async function evaluate(): Promise<void> {
  await h.server.gateway.usage.flush();
  await clock.advance(MINUTE);
}

/** Usage as the gateway records it, for history that would take a real week to produce. */
function historic(ts: number, clientIp: string): UsageRecord {
  return {
    id: randomUUID(), ts, keyId, upstreamId: null, endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', status: 200, stream: false,
    promptTokens: 20, cachedTokens: 0, completionTokens: 10, reasoningTokens: 0, costUsd: 0.000009, priceMissing: false,
    latencyMs: 5, clientIp, errorCode: null,
  };
}

const viaProxy = (ip: string): OpenAI => h.client(key, { defaultHeaders: { 'x-forwarded-for': ip } });
const chat = (client: OpenAI, model = 'gpt-4o-mini'): Promise<unknown> =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

/** An audit log that refuses every append (a trigger), then accepts again: on the store this run uses. */
async function blockAudit(blocked: boolean): Promise<void> {
  if (pgUrl === null) {
    sqliteDbOf(h).exec(
      blocked ? "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'read-only'); END;" : 'DROP TRIGGER no_audit',
    );
    return;
  }
  await pg.query(
    pgUrl,
    blocked
      ? `CREATE FUNCTION no_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'read-only'; END $$;
         CREATE TRIGGER no_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION no_audit();`
      : 'DROP TRIGGER no_audit ON audit_log; DROP FUNCTION no_audit();',
  );
}

// The same suite on both stores: SQLite in the data directory, and a throw-away PostgreSQL.
describe.each(['sqlite', 'postgres'] as const)('on the %s store', (store) => {
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const check = verifyWebhookSignature({
          secret: WEBHOOK_SECRET,
          body,
          timestamp: req.headers['x-keywarden-timestamp'] as string | undefined,
          signature: req.headers['x-keywarden-signature'] as string | undefined,
          now: clock.now(),
        });
        delivered.push({ verified: check.ok, body: JSON.parse(body) as { detector?: string } });
        res.writeHead(check.ok ? 200 : 401).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    clock = new ManualClock(START);
    pgUrl = null;
    if (store === 'postgres') {
      pg = await acquireTestPostgres();
      pgUrl = await pg.createDatabase();
    }
    h = await startHarness({
      manualClock: clock,
      config: {
        ...(pgUrl === null ? {} : { store: { url: pgUrl } }),
        server: { trustedProxies: ['127.0.0.1'] },
        monitor: {
          detectors: { volumeSpike: { policy: 'both' } },
          sinks: { webhooks: [{ name: 'ops', url: webhookUrl, secret: WEBHOOK_SECRET }] },
        },
      },
    });
    ({ id: keyId, key } = await h.createKey({ name: 'steady-app' }));
    // A week of steady use with a day/night rhythm: 1 request a minute at night, 3 in the day, from one office. Each
    // simulated hour is ingested as a batch and evaluated by one tick (the engine's window is then the hour: same
    // per-minute rates, same minute and hour rollups), instead of 10,080 per-minute evaluations: on PostgreSQL those
    // took minutes of round trips and ran past the hook's time limit.
    const monitor = h.server.monitor;
    if (!monitor) throw new Error('monitoring is disabled');
    for (let hour = 0; hour < 7 * 24; hour++) {
      const hourStart = clock.now();
      const count = new Date(hourStart).getUTCHours() >= 8 && new Date(hourStart).getUTCHours() < 20 ? 3 : 1;
      const records: UsageRecord[] = [];
      for (let minute = 0; minute < 60; minute++) {
        for (let i = 0; i < count; i++) records.push(historic(hourStart + minute * MINUTE + i * 1000, `198.51.100.${10 + (i % 3)}`));
      }
      monitor.ingestUsage(records);
      clock.skip(HOUR);
      const report = await monitor.tick();
      expect(report.raised, `hour ${hour}`).toEqual([]);
      // Let I/O through now and then, so sockets the loop outlives (the admin client's idle keep-alive, closed by the
      // server meanwhile) are seen closed instead of reused and reset.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    if (store === 'postgres') await releaseTestPostgres();
  }, 30_000);

  describe('monitoring end to end, with the official SDK', () => {
    it('raises nothing for a week of normal day/night traffic', async () => {
      for (const detector of ['volume_spike', 'spend_spike', 'new_model', 'new_network', 'key_probing']) {
        expect(await alerts(detector), detector).toEqual([]);
      }
    });

    it('flags first use of a new model and of a new network', async () => {
      await chat(viaProxy('198.51.100.10'), 'gpt-4.1');
      await evaluate();
      const model = await alerts('new_model');
      expect(model).toHaveLength(1);
      expect(model[0]).toMatchObject({ key_id: keyId });
      expect(JSON.stringify(model[0])).toContain('gpt-4.1');

      await chat(viaProxy('203.0.113.77'));
      await evaluate();
      const network = await alerts('new_network');
      expect(network).toHaveLength(1);
      expect(JSON.stringify(network[0])).toContain('203.0.113');
    });

    it('alerts on a 1,000x volume spike within one evaluation interval and suspends the key, as policy says', async () => {
      const client = viaProxy('198.51.100.10');
      // Night-time baseline is about 1 request a minute; send about 1,000 within one minute.
      for (let batch = 0; batch < 20; batch++) await Promise.all(Array.from({ length: 50 }, () => chat(client)));
      await evaluate();
      const spikes = await alerts('volume_spike');
      expect(spikes).toHaveLength(1);
      expect(spikes[0]).toMatchObject({ key_id: keyId, actions: { suspended: true } });

      const denied = await apiErrorOf(chat(client));
      expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(denied.code).toBe('key_suspended');
      expect(denied.message).toMatch(/suspended: .+/);

      const lifted = await h.admin<{ status: string }>('POST', `/keys/${keyId}/unsuspend`, {});
      expect(lifted.body.status).toBe('active');
      await chat(client);
      const { body } = await h.admin<{ data: Array<{ action: string; actor: string }> }>('GET', '/audit?limit=5000');
      const actions = body.data.map((e) => `${e.actor} ${e.action}`);
      expect(actions).toContain('system:monitor key.suspended');
      expect(actions.some((a) => a.endsWith('key.unsuspended') && a.startsWith('admin:'))).toBe(true);
    });

    it('reports 50 invalid-key requests from one IP as probing, naming the IP', async () => {
      const prober = new OpenAI({
        apiKey: `kw_${'Z'.repeat(38)}`,
        baseURL: `${h.server.url}/v1`,
        maxRetries: 0,
        defaultHeaders: { 'x-forwarded-for': '192.0.2.66' },
      });
      for (let i = 0; i < 50; i++) await expect(chat(prober)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      await evaluate();
      const probing = await alerts('key_probing');
      expect(probing).toHaveLength(1);
      expect(probing[0]?.subject).toContain('192.0.2.66');
      expect(probing[0]?.message).toContain('192.0.2.66');
    });

    it('delivered every alert to the webhook with a valid signature', async () => {
      // This test raises an alert of its own (a key with two days of history used from a new network), so it holds
      // whether or not the tests before it ran; every alert they raised must have been delivered too.
      const fresh = await h.createKey({ name: 'webhook-check' });
      h.server.monitor?.ingestUsage([{ ...historic(clock.now() - 2 * 24 * 60 * MINUTE, '198.51.100.10'), keyId: fresh.id }]);
      await evaluate();
      await chat(h.client(fresh.key, { defaultHeaders: { 'x-forwarded-for': '203.0.113.50' } }));
      await evaluate();
      const raised = (await h.admin<{ data: Array<AlertView & { id: string }> }>('GET', '/alerts?limit=500')).body.data;
      expect(raised.some((a) => a.detector === 'new_network' && a.key_id === fresh.id)).toBe(true);
      // Deliveries run in the background over real sockets: poll (bounded, yielding to I/O) until each has arrived.
      const deliveredIds = (): Set<string | undefined> => new Set(delivered.map((d) => d.body.alert?.id));
      await waitFor(() => raised.every((a) => deliveredIds().has(a.id)), { timeoutMs: 10_000, what: 'every alert delivered' });
      const detectors = delivered.map((d) => d.body.detector ?? d.body.alert?.detector);
      expect(detectors).toEqual(expect.arrayContaining([...new Set(raised.map((a) => a.detector))]));
      expect(delivered.every((d) => d.verified)).toBe(true);
    });

    it('exposes Prometheus metrics', async () => {
      const text = await (await fetch(`${h.server.url}/metrics`, { headers: { authorization: `Bearer ${h.adminToken}` } })).text();
      expect(text).toMatch(/keywarden_requests_total\{[^}]*\} \d+/);
      expect(text).toMatch(/keywarden_denials_total\{reason="invalid_api_key"\} 50/);
      expect(text).toMatch(/keywarden_alerts_total\{detector="key_probing"\} 1/);
    });

    it('refuses to issue a key when the audit log cannot be written', async () => {
      const before = (await h.admin<{ data: unknown[] }>('GET', '/keys')).body.data.length;
      await blockAudit(true);
      try {
        const res = await h.admin<{ error: { code: string }; key?: string }>('POST', '/keys', { name: 'unrecorded' });
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('audit_unavailable');
        expect(res.body.key).toBeUndefined();
        expect((await h.admin<{ data: unknown[] }>('GET', '/keys')).body.data).toHaveLength(before);
      } finally {
        await blockAudit(false);
      }
    });
  });
});
