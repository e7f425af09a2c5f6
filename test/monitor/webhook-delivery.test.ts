import { afterEach, describe, expect, it } from 'vitest';
import { AlertDispatcher } from '../../src/monitor/alert-dispatcher.js';
import { AlertService } from '../../src/monitor/alert-service.js';
import { ManualClock } from '../../src/monitor/clock.js';
import { createMonitorMetrics } from '../../src/monitor/metrics.js';
import { createWebhookSink } from '../../src/monitor/sinks/webhook-sink.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from '../../src/monitor/sinks/webhook-signature.js';
import type { Finding } from '../../src/monitor/types.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteAlertRepository } from '../../src/store/sqlite/alert-repo.js';
import { captureLogger, loopbackSinkNetwork, startReceiver, type Receiver } from './helpers.js';

const SECRET = 'whsec_test_0123456789abcdef';
const finding: Finding = {
  detector: 'key_probing',
  severity: 'warning',
  subject: '203.0.113.9',
  keyId: null,
  title: 'Key probing from 203.0.113.9',
  message: '50 requests with invalid keys from 203.0.113.9 in 5 minutes.',
  details: { ip: '203.0.113.9', failures: 50 },
};

let receiver: Receiver | null = null;
afterEach(async () => {
  await receiver?.close();
  receiver = null;
});

const newClock = (): ManualClock => new ManualClock(Date.UTC(2025, 5, 2, 12));

function setup(url: string, maxAttempts = 5, clock = newClock()) {
  const repo = new SqliteAlertRepository(openDatabase(':memory:'));
  const delays: number[] = [];
  const log = captureLogger();
  const metrics = createMonitorMetrics();
  const dispatcher = new AlertDispatcher({
    repo,
    sinks: [createWebhookSink({ name: 'hook', url, secret: SECRET, timeoutMs: 5_000, now: () => clock.now(), network: loopbackSinkNetwork })],
    policy: { maxAttempts, baseDelayMs: 1_000, maxDelayMs: 60_000 },
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
    now: () => clock.now(),
    logger: log.logger,
    metrics,
  });
  const service = new AlertService({ repo, dispatcher, now: () => clock.now(), logger: log.logger, metrics });
  return { clock, repo, delays, log, metrics, dispatcher, service };
}

/** The receiver checks every signature itself, like a real integration would. */
function verified(clock: ManualClock) {
  return (request: { headers: Record<string, string | string[] | undefined>; body: string }) =>
    verifyWebhookSignature({
      secret: SECRET,
      body: request.body,
      timestamp: request.headers[TIMESTAMP_HEADER] as string,
      signature: request.headers[SIGNATURE_HEADER] as string,
      now: clock.now(),
    }).ok;
}

describe('webhook delivery', () => {
  it('delivers a signed alert on the third try to a receiver that fails twice', async () => {
    const clock = newClock();
    const isSigned = verified(clock);
    receiver = await startReceiver((request, index) => {
      if (!isSigned(request)) return 401;
      return index < 2 ? 500 : 204;
    });
    const { repo, delays, dispatcher, service } = setup(receiver.url, 5, clock);
    const raised = await service.raise(finding, 'alert', 3_600_000);
    await dispatcher.idle();

    expect(raised.status).toBe('raised');
    expect(receiver.requests).toHaveLength(3);
    const bodies = receiver.requests.map((r) => JSON.parse(r.body) as { type: string; alert: { id: string; subject: string } });
    expect(bodies.every((b) => b.type === 'keywarden.alert' && b.alert.subject === '203.0.113.9')).toBe(true);
    expect(new Set(bodies.map((b) => b.alert.id)).size).toBe(1);
    expect(delays).toEqual([1_000, 2_000]);
    const [delivery] = await repo.listDeliveries({ limit: 10 });
    expect(delivery).toMatchObject({ sink: 'hook', status: 'delivered', attempts: 3, lastError: null });
  });

  it('records a delivery that never succeeds as failed, logs it without the URL and counts it', async () => {
    receiver = await startReceiver(() => 503);
    const { repo, log, metrics, dispatcher, service } = setup(receiver.url, 3);
    await service.raise(finding, 'alert', 3_600_000);
    await dispatcher.idle();

    expect(receiver.requests).toHaveLength(3);
    const [delivery] = await repo.listDeliveries({ status: 'failed', limit: 10 });
    expect(delivery).toMatchObject({ sink: 'hook', attempts: 3, lastError: 'hook: HTTP 503' });
    expect(log.text()).toContain('alert delivery failed');
    expect(log.text()).not.toContain('not-a-real-secret');
    expect((await metrics.render()).body).toMatch(/keywarden_alert_delivery_failures_total\{sink="hook"\} 1/);
  });

  it('does not retry a receiver that rejects the alert outright', async () => {
    receiver = await startReceiver(() => 400);
    const { repo, delays, dispatcher, service } = setup(receiver.url);
    await service.raise(finding, 'alert', 3_600_000);
    await dispatcher.idle();
    expect(receiver.requests).toHaveLength(1);
    expect(delays).toEqual([]);
    expect((await repo.listDeliveries({ limit: 10 }))[0]).toMatchObject({ status: 'failed', attempts: 1, lastError: 'hook: HTTP 400' });
  });

  it('names the network error when the receiver is unreachable', async () => {
    const closed = await startReceiver(() => 200);
    const url = closed.url;
    await closed.close();
    const { repo, dispatcher, service } = setup(url, 2);
    await service.raise(finding, 'alert', 3_600_000);
    await dispatcher.idle();
    expect((await repo.listDeliveries({ limit: 10 }))[0]).toMatchObject({ status: 'failed', attempts: 2, lastError: 'hook: request failed (ECONNREFUSED)' });
  });

  it('resumes a delivery left pending by a previous process', async () => {
    receiver = await startReceiver(() => 200);
    const { repo, dispatcher, service } = setup(receiver.url);
    const raised = await service.raise(finding, 'suspend', 3_600_000); // 'suspend' does not notify
    expect(receiver.requests).toHaveLength(0);
    if (raised.status !== 'raised') throw new Error('expected a new alert');
    await repo.insertDelivery({
      id: 'dlv_left_over',
      alertId: raised.alert.id,
      sink: 'hook',
      status: 'pending',
      attempts: 1,
      lastError: 'hook: HTTP 502',
      createdAt: 0,
      updatedAt: 0,
    });
    expect(await dispatcher.resume()).toBe(1);
    await dispatcher.idle();
    expect(receiver.requests).toHaveLength(1);
    expect((await repo.listDeliveries({ limit: 10 }))[0]).toMatchObject({ id: 'dlv_left_over', status: 'delivered', attempts: 2 });
  });
});
