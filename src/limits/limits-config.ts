import { z } from 'zod';

/** `limits` in the config: which backend counts rates and budgets, and what happens when it cannot be reached. */
export const limitsConfigSchema = z
  .object({
    /**
     * With a shared backend (Redis) unreachable, keys with limits are always refused (503 limits_unavailable).
     * true: keys without limits keep working meanwhile; false (default): every request is refused until it returns.
     */
    failOpen: z.boolean().default(false),
    redis: z
      .object({
        /** redis:// or rediss:// URL (env KEYWARDEN_REDIS_URL). Unset: limits are counted in this process. */
        url: z
          .string()
          .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
          .optional(),
        /** Prefix of every Redis key, so several deployments can share one Redis. */
        keyPrefix: z.string().min(1).max(64).default('kw:'),
        /** Lease of a budget reservation: a replica silent this long is presumed dead and its reservations charged. */
        leaseMs: z.number().int().min(300).max(600_000).default(30_000),
        /** Time allowed for one Redis command before the request is refused with 503. */
        commandTimeoutMs: z.number().int().positive().max(60_000).default(1000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type LimitsConfig = z.output<typeof limitsConfigSchema>;
