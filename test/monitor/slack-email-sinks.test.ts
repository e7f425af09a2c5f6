import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { alertView } from '../../src/monitor/alert-view.js';
import { createEmailSink } from '../../src/monitor/sinks/email-sink.js';
import { createSlackSink } from '../../src/monitor/sinks/slack-sink.js';
import type { AlertRecord } from '../../src/monitor/types.js';
import { loopbackSinkNetwork, startReceiver, type Receiver } from './helpers.js';

const alert: AlertRecord = {
  id: 'alt_0123456789abcdef',
  detector: 'new_model',
  severity: 'warning',
  subject: 'key_abc',
  keyId: 'key_abc',
  title: 'Key key_abc used a new model: <gpt-4o>',
  message: 'First use of gpt-4o by this key.',
  details: { model: 'gpt-4o' },
  notified: true,
  suspended: false,
  occurrences: 1,
  createdAt: Date.UTC(2025, 5, 2, 12),
  lastSeenAt: Date.UTC(2025, 5, 2, 12),
  acknowledgedAt: null,
  acknowledgedBy: null,
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('Slack sink', () => {
  it('posts an incoming-webhook payload with the alert, escaping markup', async () => {
    const receiver: Receiver = await startReceiver(() => 200);
    cleanups.push(() => receiver.close());
    await createSlackSink({ name: 'slack', url: receiver.url, timeoutMs: 5_000, network: loopbackSinkNetwork }).send(alertView(alert), new AbortController().signal);
    expect(receiver.requests).toHaveLength(1);
    const payload = JSON.parse(receiver.requests[0]?.body ?? '') as { text: string };
    expect(payload.text).toContain('*Key key_abc used a new model: &lt;gpt-4o&gt;*');
    expect(payload.text).toContain('alert id: alt_0123456789abcdef');
    expect(receiver.requests[0]?.headers['content-type']).toBe('application/json');
  });
});

interface Captured {
  from: string;
  to: string[];
  data: string;
}

async function startSmtp(rejectRecipients = false): Promise<{ port: number; messages: Captured[] }> {
  const messages: Captured[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (rejectRecipients) {
        const err = Object.assign(new Error('mailbox unavailable'), { responseCode: 550 });
        callback(err);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, messages };
}

const emailOptions = (port: number) => ({
  name: 'email',
  host: '127.0.0.1',
  port,
  network: loopbackSinkNetwork,
  secure: false,
  from: 'keywarden@example.test',
  to: ['oncall@example.test', 'security@example.test'],
  timeoutMs: 5_000,
});

describe('email sink', () => {
  it('delivers the alert to a local SMTP server', async () => {
    const smtp = await startSmtp();
    const sink = createEmailSink(emailOptions(smtp.port));
    cleanups.push(() => sink.close?.() ?? Promise.resolve());
    await sink.send(alertView(alert), new AbortController().signal);
    expect(smtp.messages).toHaveLength(1);
    const [message] = smtp.messages;
    expect(message?.from).toBe('keywarden@example.test');
    expect(message?.to).toEqual(['oncall@example.test', 'security@example.test']);
    expect(message?.data).toMatch(/^Subject: \[keywarden\] WARNING: Key key_abc used a new model/m);
    expect(message?.data).toMatch(/^X-Keywarden-Alert-Id: alt_0123456789abcdef$/im);
    expect(message?.data).toContain('First use of gpt-4o by this key.');
  });

  it('reports a permanent SMTP refusal as rejected, naming only the reply code', async () => {
    const smtp = await startSmtp(true);
    const sink = createEmailSink(emailOptions(smtp.port));
    cleanups.push(() => sink.close?.() ?? Promise.resolve());
    await expect(sink.send(alertView(alert), new AbortController().signal)).rejects.toMatchObject({
      code: 'KW_ALERT_DELIVERY_REJECTED',
      message: 'email: SMTP 550',
    });
    expect(smtp.messages).toHaveLength(0);
  });
});
