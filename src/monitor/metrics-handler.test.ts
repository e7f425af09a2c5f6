import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { usage } from '../../test/monitor/records.js';
import { metricsHandler } from './metrics-handler.js';
import { createMonitorMetrics } from './metrics.js';

describe('metricsHandler', () => {
  it('serves the Prometheus text format with what was observed', async () => {
    const metrics = createMonitorMetrics();
    metrics.observeUsage(usage({ latencyMs: 300, costUsd: 0.5, model: 'gpt-4o' }));
    metrics.observeUsage(usage({ status: 502, errorCode: 'upstream_unavailable', upstreamId: 'ups_9', model: 'gpt-4o' }));
    metrics.alertRaised('volume_spike');
    const server = createServer(metricsHandler(metrics));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const response = await fetch(`${base}/metrics`);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const body = await response.text();
      expect(body).toContain('keywarden_requests_total{endpoint="chat",status="5xx"} 1');
      expect(body).toContain('keywarden_request_duration_seconds_bucket{le="0.5",endpoint="chat"} 2');
      expect(body).toContain('keywarden_request_duration_seconds_bucket{le="0.25",endpoint="chat"} 1');
      expect(body).toContain('keywarden_spend_usd_total{model="gpt-4o"} 0.5');
      expect(body).toContain('keywarden_upstream_errors_total{upstream="ups_9",code="upstream_unavailable"} 1');
      expect(body).toContain('keywarden_alerts_total{detector="volume_spike"} 1');
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('caps label values that clients control', () => {
    const metrics = createMonitorMetrics({ maxLabelValues: 2 });
    for (const model of ['a', 'b', 'c', 'd']) metrics.observeUsage(usage({ model }));
    return metrics.render().then(({ body }) => {
      expect(body).toContain('keywarden_tokens_total{model="other",kind="prompt"} 200');
      expect(body).not.toContain('model="c"');
    });
  });
});
