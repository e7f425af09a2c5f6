import { z } from 'zod';

/**
 * Monitoring configuration, meant to sit under `monitor:` in the main config schema. Every detector is on by
 * default with `alert` policy: suspension is opt-in, because a false positive that stops a production app costs
 * more than a late alert. Durations are milliseconds, like the rest of the config.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const policy = z.enum(['alert', 'suspend', 'both']);
const ms = z.number().int().positive();
const positive = z.number().positive();

const base = { enabled: z.boolean().default(true), policy: policy.default('alert'), cooldownMs: ms.optional() };

const spike = (floorPerMinute: number, minWindowAmount: number) =>
  z
    .object({
      ...base,
      /** Fires when the current per-minute rate exceeds multiplier × the key's baseline peak minute. */
      multiplier: positive.default(10),
      /** Lowest baseline the multiplier applies to, so near-idle keys are not flagged for modest use. */
      floorPerMinute: z.number().nonnegative().default(floorPerMinute),
      /** Smallest amount in one evaluation window that can fire (requests, or USD for spend). */
      minWindowAmount: z.number().nonnegative().default(minWindowAmount),
      /** A key must have been in use this long before it is judged (new keys have no baseline). */
      minHistoryMs: ms.default(3 * DAY),
      /** Days of history the same-hour-of-day baseline is learned from. */
      lookbackDays: z.number().int().min(1).max(60).default(14),
      /** EWMA weight of the most recent day. */
      alpha: z.number().gt(0).max(1).default(0.3),
    })
    .strict()
    .prefault({});

const firstUse = z
  .object({ ...base, learningPeriodMs: ms.default(DAY) })
  .strict()
  .prefault({});

const webhookSink = z
  .object({ name: z.string().min(1).default('webhook'), url: z.url(), secret: z.string().min(16) })
  .strict();
const slackSink = z.object({ name: z.string().min(1).default('slack'), url: z.url() }).strict();
const emailSink = z
  .object({
    name: z.string().min(1).default('email'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(587),
    /** true: TLS from the first byte (port 465). false: STARTTLS when offered. */
    secure: z.boolean().default(false),
    user: z.string().optional(),
    password: z.string().optional(),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
  })
  .strict();

export const monitorConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    evaluationIntervalMs: ms.min(1_000).default(MINUTE),
    /** Repeats of an alert for the same (detector, key or IP) within this are folded into it. */
    cooldownMs: ms.default(HOUR),
    retention: z
      .object({ minuteMs: ms.default(2 * DAY), hourMs: ms.default(90 * DAY) })
      .strict()
      .prefault({}),
    detectors: z
      .object({
        volumeSpike: spike(1, 50),
        spendSpike: spike(0.05, 1),
        newModel: firstUse,
        newNetwork: firstUse,
        probing: z
          .object({
            ...base,
            threshold: z.number().int().positive().default(50),
            windowMs: ms.default(5 * MINUTE),
            reasons: z.array(z.enum(['invalid', 'revoked', 'expired', 'missing', 'suspended'])).default(['invalid', 'revoked', 'expired']),
          })
          .strict()
          .prefault({}),
        scopeDenials: z
          .object({ ...base, threshold: z.number().int().positive().default(10), windowMs: ms.default(10 * MINUTE) })
          .strict()
          .prefault({}),
        budget: z
          .object({
            ...base,
            thresholds: z.array(z.number().gt(0).max(10)).min(1).default([0.5, 0.8, 1]),
            // Each threshold alerts once per budget period (the period is part of the alert subject).
            cooldownMs: ms.default(31 * DAY),
          })
          .strict()
          .prefault({}),
        rotation: z
          .object({ ...base, maxAgeMs: ms.default(90 * DAY), cooldownMs: ms.default(7 * DAY) })
          .strict()
          .prefault({}),
        unused: z
          .object({ ...base, maxIdleMs: ms.default(30 * DAY), cooldownMs: ms.default(7 * DAY) })
          .strict()
          .prefault({}),
        /** How often the key hygiene detectors (rotation, unused) run. */
        hygieneIntervalMs: ms.default(HOUR),
      })
      .strict()
      .prefault({}),
    sinks: z
      .object({
        webhooks: z.array(webhookSink).default([]),
        slack: z.array(slackSink).default([]),
        email: z.array(emailSink).default([]),
      })
      .strict()
      .prefault({}),
    delivery: z
      .object({
        maxAttempts: z.number().int().min(1).max(20).default(6),
        baseDelayMs: ms.default(1_000),
        maxDelayMs: ms.default(5 * MINUTE),
        timeoutMs: ms.default(10_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const spikes = [config.detectors.volumeSpike, config.detectors.spendSpike];
    const needed = Math.max(...spikes.map((s) => (s.enabled ? (s.lookbackDays + 1) * DAY : 0)));
    if (config.retention.hourMs < needed) {
      ctx.addIssue({
        code: 'custom',
        path: ['retention', 'hourMs'],
        message: `must cover the spike detectors' lookback (at least ${needed} ms), or baselines lose their history`,
      });
    }
  });

export type MonitorConfig = z.output<typeof monitorConfigSchema>;
export type MonitorConfigInput = z.input<typeof monitorConfigSchema>;
export type SpikeConfig = MonitorConfig['detectors']['volumeSpike'];

/** Defaults filled in; throws a ZodError listing every problem. */
export function parseMonitorConfig(input: MonitorConfigInput = {}): MonitorConfig {
  return monitorConfigSchema.parse(input);
}
