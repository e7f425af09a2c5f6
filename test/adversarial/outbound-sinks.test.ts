import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import { KeywardenError } from '../../src/errors/index.js';
import { alertView } from '../../src/monitor/alert-view.js';
import { createEmailSink } from '../../src/monitor/sinks/email-sink.js';
import { createSinkNetwork } from '../../src/monitor/sinks/sink-network.js';
import { createSlackSink } from '../../src/monitor/sinks/slack-sink.js';
import { createWebhookSink } from '../../src/monitor/sinks/webhook-sink.js';
import type { AlertRecord } from '../../src/monitor/types.js';
import type { OutboundLookup } from '../../src/policy/outbound-connect.js';
import { createOutboundPolicy } from '../../src/policy/outbound-url.js';

const SECRET = 'whsec_0123456789abcdef0123';

function configError(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(KeywardenError);
    expect((err as KeywardenError).code).toBe('KW_CONFIG_INVALID');
    return (err as KeywardenError).message;
  }
  throw new Error('expected a config error');
}

describe('sink destinations are validated when the config loads', () => {
  it('reports every refused sink with its path, without repeating the URL', () => {
    const message = configError({
      monitor: {
        sinks: {
          webhooks: [
            { name: 'meta', url: 'http://169.254.169.254/latest/meta-data/', secret: SECRET },
            { name: 'mapped', url: 'https://[::ffff:a9fe:a9fe]/hook', secret: SECRET },
            { name: 'decimal', url: 'https://2852039166/hook', secret: SECRET },
            { name: 'creds', url: 'https://ops:webhookpw123@hooks.example.com/x', secret: SECRET },
            { name: 'plain', url: 'http://hooks.example.com/x', secret: SECRET },
            { name: 'ok', url: 'https://hooks.example.com/x', secret: SECRET },
          ],
          slack: [
            { name: 'gopher', url: 'gopher://hooks.slack.com/x' },
            { name: 'local', url: 'https://localhost./services/x' },
          ],
          email: [
            { name: 'loop', host: '127.0.0.1', from: 'kw@example.com', to: ['ops@example.com'] },
            { name: 'gce', host: 'metadata.google.internal', from: 'kw@example.com', to: ['ops@example.com'] },
          ],
        },
      },
    });
    for (const path of [
      'monitor.sinks.webhooks.0.url',
      'monitor.sinks.webhooks.1.url',
      'monitor.sinks.webhooks.2.url',
      'monitor.sinks.webhooks.3.url',
      'monitor.sinks.webhooks.4.url',
      'monitor.sinks.slack.0.url',
      'monitor.sinks.slack.1.url',
      'monitor.sinks.email.0.host',
      'monitor.sinks.email.1.host',
    ]) {
      expect(message).toContain(path);
    }
    expect(message).not.toContain('monitor.sinks.webhooks.5');
    expect(message).not.toContain('webhookpw123');
    expect(message).not.toContain('meta-data');
  });

  it('accepts internal receivers that the allowlist names, and rejects a malformed allowlist entry with its path', () => {
    const config = parseConfig({
      outbound: { allow: ['10.0.0.0/8', 'mail.internal:25', 'http://alerts.internal:9000'] },
      monitor: {
        sinks: {
          webhooks: [{ url: 'http://10.1.2.3:8080/hook', secret: SECRET }],
          slack: [{ url: 'http://alerts.internal:9000/slack' }],
          email: [{ host: 'mail.internal', port: 25, from: 'kw@example.com', to: ['ops@example.com'] }],
        },
      },
    });
    expect(config.outbound.allow).toHaveLength(3);
    // The allowlist port is part of the entry: the same host on another port is still refused.
    expect(configError({ outbound: { allow: ['mail.internal:25'] }, monitor: { sinks: { email: [{ host: 'mail.internal', port: 587, from: 'kw@example.com', to: ['o@example.com'] }] } } })).toContain(
      'monitor.sinks.email.0.host',
    );
    expect(configError({ outbound: { allow: ['10.0.0.0/40', 'ftp://x'] } })).toMatch(/outbound\.allow\.0[\s\S]*outbound\.allow\.1/);
  });

  it('takes the allowlist from KEYWARDEN_OUTBOUND_ALLOW (comma-separated) and validates it the same way', async () => {
    const config = await loadConfig({ cwd: process.cwd(), env: { KEYWARDEN_OUTBOUND_ALLOW: ' 10.0.0.0/8, http://localhost:11434 ' } });
    expect(config.outbound.allow).toEqual(['10.0.0.0/8', 'http://localhost:11434']);
    await expect(loadConfig({ cwd: process.cwd(), env: { KEYWARDEN_OUTBOUND_ALLOW: 'gopher://x' } })).rejects.toThrow(/outbound\.allow\.0/);
    // Without it, nothing internal is allowed: the defaults of `npm start`.
    expect((await loadConfig({ cwd: process.cwd(), env: {} })).outbound.allow).toEqual([]);
  });
});

const alert: AlertRecord = {
  id: 'alt_rebind00000000000',
  detector: 'new_model',
  severity: 'warning',
  subject: 'key_abc',
  keyId: 'key_abc',
  title: 'test',
  message: 'test',
  details: {},
  notified: true,
  suspended: false,
  occurrences: 1,
  createdAt: Date.UTC(2025, 5, 2, 12),
  lastSeenAt: Date.UTC(2025, 5, 2, 12),
  acknowledgedAt: null,
  acknowledgedBy: null,
};

describe('sink deliveries are checked again at connect time', () => {
  // One TCP trap stands in for an internal service: any HTTP or SMTP connection to it is counted.
  let trap: Server;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    trap = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    port = (trap.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => trap.close(() => resolve())));

  const lookup: OutboundLookup = (hostname, _options, callback) => {
    if (hostname.endsWith('.rebind.example')) return callback(null, [{ address: '127.0.0.1', family: 4 }]);
    callback(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }), []);
  };

  async function failure(send: Promise<void>): Promise<KeywardenError> {
    const err = await send.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KeywardenError);
    return err as KeywardenError;
  }

  it('webhook, Slack and SMTP hosts that resolve to loopback are refused; the trap sees no connection', async () => {
    const network = createSinkNetwork(createOutboundPolicy({ allow: [] }), lookup);
    const signal = new AbortController().signal;
    const webhook = createWebhookSink({ name: 'hook', url: `https://hooks.rebind.example:${port}/x`, secret: SECRET, timeoutMs: 2_000, now: Date.now, network });
    const slack = createSlackSink({ name: 'slack', url: `https://slack.rebind.example:${port}/x`, timeoutMs: 2_000, network });
    const email = createEmailSink({ name: 'mail', host: 'smtp.rebind.example', port, secure: false, from: 'kw@example.com', to: ['o@example.com'], timeoutMs: 2_000, network });
    const errors = [await failure(webhook.send(alertView(alert), signal)), await failure(slack.send(alertView(alert), signal)), await failure(email.send(alertView(alert), signal))];
    expect(errors.map((e) => e.message)).toEqual(['hook: request failed (EOUTBOUNDREFUSED)', 'slack: request failed (EOUTBOUNDREFUSED)', 'email: SMTP EOUTBOUNDREFUSED']);
    expect(connections).toBe(0);
  });

  it('control: with the names allowlisted, the same deliveries reach the trap', async () => {
    const network = createSinkNetwork(createOutboundPolicy({ allow: ['*.rebind.example'] }), lookup);
    const signal = new AbortController().signal;
    const webhook = createWebhookSink({ name: 'hook', url: `http://hooks.rebind.example:${port}/x`, secret: SECRET, timeoutMs: 2_000, now: Date.now, network });
    await failure(webhook.send(alertView(alert), signal));
    expect(connections).toBeGreaterThan(0);
  });
});
