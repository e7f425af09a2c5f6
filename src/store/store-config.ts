import { z } from 'zod';
import { outageBufferConfigSchema } from './outage/outage-buffer-config.js';

/** `store` in the config: the embedded SQLite file under dataDir (default), or a shared PostgreSQL database. */
export const storeConfigSchema = z
  .object({
    /** postgres:// or postgresql:// URL (env KEYWARDEN_DATABASE_URL). Unset: SQLite in the data directory. */
    url: z
      .string()
      .regex(/^postgres(?:ql)?:\/\//i, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    /** Connections this process keeps to PostgreSQL. */
    poolSize: z.number().int().min(2).max(100).default(10),
    /** Time allowed to get a connection before a store call fails. */
    connectTimeoutMs: z.number().int().positive().max(60_000).default(5000),
    /** Safety net for a missed key-change notification: how often each replica reads the key version counter. */
    keyVersionCheckMs: z.number().int().min(10).max(1000).default(250),
    /** PostgreSQL unreachable: keys this replica already checked keep working this long (0: refused at once). */
    outageKeyCacheMs: z.number().int().min(0).max(3_600_000).default(30_000),
    /** PostgreSQL unreachable: usage records held in memory, then in a spill file, then requests refused. */
    outageBuffer: outageBufferConfigSchema.prefault({}),
    /** An admin key change answers once every other live replica confirmed it, or after this long (saying who did not). */
    propagationTimeoutMs: z.number().int().min(0).max(60_000).default(2000),
  })
  .strict();

export type StoreConfig = z.output<typeof storeConfigSchema>;
