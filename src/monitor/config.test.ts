import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { parseMonitorConfig } from './config.js';

describe('monitor config', () => {
  it('fills sensible defaults: every detector on, alert-only, 90-day rotation, 30-day idle', () => {
    const config = parseMonitorConfig();
    expect(config.evaluationIntervalMs).toBe(60_000);
    expect(Object.values(config.detectors).filter((d) => typeof d === 'object').every((d) => d.enabled && d.policy === 'alert')).toBe(true);
    expect(config.detectors.rotation.maxAgeMs).toBe(90 * 86_400_000);
    expect(config.detectors.unused.maxIdleMs).toBe(30 * 86_400_000);
    expect(config.detectors.probing).toMatchObject({ threshold: 50, reasons: ['invalid', 'revoked', 'expired'] });
    expect(config.detectors.budget.thresholds).toEqual([0.5, 0.8, 1]);
  });

  it('reports every problem at once, unknown keys included', () => {
    let error: unknown;
    try {
      parseMonitorConfig({
        detectors: { volumeSpike: { policy: 'explode' as 'alert', multipler: 3 } as never },
        sinks: { webhooks: [{ url: 'not a url', secret: 'short' }] },
        retention: { hourMs: 86_400_000 },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ZodError);
    const paths = (error as ZodError).issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining(['detectors.volumeSpike.policy', 'detectors.volumeSpike', 'sinks.webhooks.0.url', 'sinks.webhooks.0.secret']),
    );
  });

  it('refuses an hour retention shorter than the spike lookback', () => {
    expect(() => parseMonitorConfig({ retention: { hourMs: 7 * 86_400_000 } })).toThrow(/lookback/);
    expect(() => parseMonitorConfig({ retention: { hourMs: 7 * 86_400_000 }, detectors: { volumeSpike: { lookbackDays: 5 }, spendSpike: { enabled: false } } })).not.toThrow();
  });
});
