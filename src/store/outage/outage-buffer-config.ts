import { z } from 'zod';

/**
 * `store.outageBuffer`: how many usage records a replica holds while the store cannot be written (a PostgreSQL
 * outage). First `maxRecords` in memory, then an append-only file in `dir` (default: the data directory) up to
 * `maxSpillBytes`; past both, requests on keys with limits or budgets are refused with 503 store_unavailable.
 */
export const outageBufferConfigSchema = z
  .object({
    /**
     * Records kept in memory before they are spilled to the file (about 1 KB each). 0, the default, sends every record
     * to the file as soon as a write has failed, so a replica killed during an outage loses nothing but the records of
     * a retry that is still in flight; a higher figure keeps short outages off the disk at that risk.
     */
    maxRecords: z.number().int().min(0).max(1_000_000).default(0),
    /** Bound of the spill file; about 400 bytes a record, so the default holds some 600,000 requests. */
    maxSpillBytes: z.number().int().min(0).max(64 * 1024 ** 3).default(256 * 1024 ** 2),
    /** Directory of the spill file (one per replica); default: the data directory. */
    dir: z.string().min(1).optional(),
  })
  .strict();

export type OutageBufferConfig = z.output<typeof outageBufferConfigSchema>;
