import { z } from 'zod';

const upstreamName = z.string().min(1).max(100).regex(/^[\w.-]+$/, 'use letters, digits, . _ -');

/**
 * PATCH /upstreams/:ref. `default` can only be set to true: the default moves by naming the new one, never by
 * unsetting the current one, which would leave keys that name no upstream without one.
 */
export const updateUpstreamSchema = z
  .object({
    name: upstreamName.optional(),
    base_url: z.string().url().optional(),
    api_version: z.string().min(1).nullable().optional(),
    /** Replaces the model → deployment map as a whole. */
    deployments: z.record(z.string().min(1), z.string().min(1)).optional(),
    default: z.literal(true, { message: 'default can only be set to true; make another upstream the default instead' }).optional(),
  })
  .strict()
  .refine((input) => Object.keys(input).length > 0, { message: 'nothing to update' });

export type UpdateUpstreamInput = z.infer<typeof updateUpstreamSchema>;

/** DELETE /upstreams/:ref?reassign_to=NAME */
export const removeUpstreamQuery = z.object({ reassign_to: z.string().min(1).max(200).optional() }).strict();

const providerKey = z.string().min(8).max(1000);
const drainTimeoutMs = z.number().int().min(0).max(3_600_000).optional();

/** POST /upstreams/:ref/keys: one more provider key, used at once alongside the others. */
export const addUpstreamKeySchema = z.object({ key: providerKey }).strict();

/** POST /upstreams/:ref/keys/rotate: the new key; `replace` the key ids it replaces (default: all). */
export const rotateUpstreamKeySchema = z
  .object({ key: providerKey, replace: z.array(z.string().min(1).max(100)).min(1).max(100).optional(), drain_timeout_ms: drainTimeoutMs })
  .strict();

/** DELETE /upstreams/:ref/keys/:keyId?drain_timeout_ms=N */
export const removeUpstreamKeyQuery = z.object({ drain_timeout_ms: z.coerce.number().int().min(0).max(3_600_000).optional() }).strict();
