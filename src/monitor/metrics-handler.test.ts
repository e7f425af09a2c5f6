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

  it('counts each record under its own endpoint, status class and model, however the records interleave', async () => {
    const metrics = createMonitorMetrics();
    const records = [
      usage({ endpoint: '/v1/chat/completions', status: 200, model: 'gpt-4o', promptTokens: 3, completionTokens: 1 }),
      usage({ endpoint: '/v1/embeddings', status: 200, model: 'text-embedding-3-small', promptTokens: 5, completionTokens: 0 }),
      usage({ endpoint: '/v1/chat/completions', status: 429, errorCode: 'rate_limit_exceeded', model: 'gpt-4o' }),
      usage({ endpoint: '/v1/chat/completions', status: 200, model: 'gpt-4o-mini', promptTokens: 7, cachedTokens: 2, completionTokens: 4 }),
      usage({ endpoint: '/v1/embeddings', status: 0, errorCode: 'upstream_unavailable', model: 'text-embedding-3-small' }),
      usage({ endpoint: '/v1/chat/completions', status: 200, model: 'gpt-4o', promptTokens: 11, completionTokens: 6, reasoningTokens: 2 }),
    ];
    for (const record of records) metrics.observeUsage(record);
    const { body } = await metrics.render();
    // The judge: the same totals computed from the records themselves.
    const requests = new Map<string, number>();
    const tokens = new Map<string, number>();
    for (const r of records) {
      const group = r.endpoint === '/v1/embeddings' ? 'embeddings' : 'chat';
      const status = r.status >= 100 && r.status < 600 ? `${Math.floor(r.status / 100)}xx` : 'none';
      const id = `endpoint="${group}",status="${status}"`;
      requests.set(id, (requests.get(id) ?? 0) + 1);
      if (r.status >= 400 || r.model === null) continue;
      for (const [kind, n] of [['prompt', r.promptTokens], ['completion', r.completionTokens], ['cached', r.cachedTokens], ['reasoning', r.reasoningTokens]] as const) {
        if (n > 0) tokens.set(`model="${r.model}",kind="${kind}"`, (tokens.get(`model="${r.model}",kind="${kind}"`) ?? 0) + n);
      }
    }
    const lines = (name: string): string[] => body.split('\n').filter((line) => line.startsWith(`${name}{`)).sort();
    expect(lines('keywarden_requests_total')).toEqual([...requests].map(([labels, n]) => `keywarden_requests_total{${labels}} ${n}`).sort());
    expect(lines('keywarden_tokens_total')).toEqual([...tokens].map(([labels, n]) => `keywarden_tokens_total{${labels}} ${n}`).sort());
    expect(body).toContain('keywarden_request_duration_seconds_count{endpoint="chat"} 4');
    expect(body).toContain('keywarden_request_duration_seconds_count{endpoint="embeddings"} 2');
  });
});
