import { z } from 'zod';
import { parseDuration } from '../util/duration.js';

const MINUTE = 60_000;
const ms = z.number().int().positive();

/** `providers:` in the config: provider-side key management (Admin API client, reconciliation, leak receivers). */
export const providersConfigSchema = z
  .object({
    adminApi: z
      .object({
        /** Per request: time to headers and max idle time between body chunks. */
        timeoutMs: ms.max(300_000).default(15_000),
        /** Retries after 429 (honouring retry-after) or a 5xx on reads. */
        maxRetries: z.number().int().min(0).max(10).default(4),
        /** Longest wait honoured from one retry-after header. */
        maxRetryAfterMs: ms.max(600_000).default(30_000),
      })
      .strict()
      .prefault({}),
    reconcile: z
      .object({
        enabled: z.boolean().default(true),
        /** How often provider usage is compared with what keywarden forwarded. */
        intervalMs: ms.min(100).default(15 * MINUTE),
        /** Length of the compared window. */
        windowMs: ms.min(1_000).default(60 * MINUTE),
        /** The provider's reporting delay: only a window that ended at least this long ago is compared. */
        reportingDelayMs: z.number().int().min(0).default(15 * MINUTE),
        /** Extra tokens at the provider tolerated per upstream and window (absolute, and relative to keywarden's). */
        toleranceTokens: z.number().int().min(0).default(2_000),
        toleranceRatio: z.number().min(0).max(10).default(0.05),
        toleranceRequests: z.number().int().min(0).default(5),
        /** `rotate` also rotates the upstream at the provider at once when it is linked to a service account (providers/rotation/). */
        onMismatch: z.enum(['alert', 'rotate']).default('alert'),
        /** A repeat of the same mismatch within this is folded into the first alert. */
        cooldownMs: ms.default(60 * MINUTE),
      })
      .strict()
      .prefault({}),
    github: z
      .object({
        /** Where GitHub publishes the secret-scanning partner keys (tests point it at a local server). */
        partnerKeysUrl: z.string().url().default('https://api.github.com/meta/public_keys/secret_scanning'),
        /** How long fetched keys are trusted before being fetched again. */
        keysCacheMs: ms.default(60 * MINUTE),
        /** The organisation webhook (`secret_scanning_alert`) at POST /leaks/github/webhook. */
        webhook: z
          .object({
            /** Environment variable holding the webhook's HMAC secret; unset: the webhook answers 503 and does nothing. */
            secretEnv: z.string().min(1).max(200).default('KEYWARDEN_GITHUB_WEBHOOK_SECRET'),
            /** Environment variable holding the token that may read secret-scanning alerts (fetches the secret). */
            tokenEnv: z.string().min(1).max(200).default('KEYWARDEN_GITHUB_TOKEN'),
            /** GitHub's REST API (GitHub Enterprise, or a local fake in tests). */
            apiUrl: z.string().url().default('https://api.github.com'),
            timeoutMs: ms.max(60_000).default(10_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Rotation of upstream keys at the provider (`upstreams rotate`, and scheduled). */
    rotation: z
      .object({
        enabled: z.boolean().default(true),
        /** How often upstreams are checked against their rotation period. */
        checkIntervalMs: ms.min(100).default(15 * MINUTE),
        /** How long a rotation waits for requests on the old key before deleting it anyway (audited). */
        drainTimeoutMs: z.number().int().min(0).max(3_600_000).default(300_000),
        /** Rotation period per upstream name, e.g. `{ openai: "30d" }` (`upstreams update --rotation` overrides). */
        upstreams: z
          .record(
            z.string().min(1).max(100),
            z.string().refine((v) => (parseDuration(v) ?? 0) >= 3_600_000, { message: 'a duration of at least 1h, e.g. 30d' }),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ProvidersConfig = z.output<typeof providersConfigSchema>;
