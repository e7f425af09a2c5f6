import { z } from 'zod';
import { KNOWN_ENDPOINT_GROUPS, MAX_MODEL_GLOB_LENGTH, isValidRange } from '../policy/index.js';
import { keyLimitsSchema } from '../limits/schema.js';
import { parseDuration } from '../util/duration.js';

/** A typo such as `embedding` must not pass: it would grant nothing and the key would fail later, far from the cause. */
const endpointGroup = z
  .string()
  .min(1)
  .refine((g) => g === '*' || KNOWN_ENDPOINT_GROUPS.includes(g), {
    message: `unknown endpoint group; valid groups: ${KNOWN_ENDPOINT_GROUPS.join(', ')}, or * for all`,
  });

const cidr = z.string().refine(isValidRange, { message: 'not an IP address or CIDR range' });

const modelGlob = z.string().min(1).max(MAX_MODEL_GLOB_LENGTH).regex(/^[\w.*?:/@-]+$/, 'model patterns may use letters, digits, . _ - : / @ * ?');

/** `expires`: an ISO date, a duration from now (`30d`), or null to clear. */
const expires = z.union([
  z.null(),
  z.number().int().positive(),
  z.string().refine((s) => parseDuration(s) !== null || !Number.isNaN(Date.parse(s)), {
    message: 'expected a duration such as 30d or an ISO-8601 date',
  }),
]);

const scopeFields = {
  models: z.array(modelGlob).max(200).optional(),
  endpoints: z.array(endpointGroup).max(50).optional(),
  ip_allowlist: z.array(cidr).max(200).optional(),
  max_body_bytes: z.number().int().positive().nullable().optional(),
  /** Keys whose stored objects (files, responses, …) this key may also use. */
  objects_from: z.array(z.string().regex(/^key_[A-Za-z0-9]{1,64}$/, 'expected a key id (key_…)')).max(50).optional(),
  expires: expires.optional(),
  upstream: z.string().min(1).nullable().optional(),
  /** Ordered fallback upstreams (ids or names); replaces the list as a whole, [] clears it. See key-fallbacks.ts. */
  fallbacks: z.array(z.string().min(1).max(200)).max(50).optional(),
  metadata: z.record(z.string(), z.string().max(500)).optional(),
  /** Replaces the key's limits as a whole; see limits/schema.ts. */
  limits: keyLimitsSchema.optional(),
  /** The project (id or name) whose shared limits apply on top of the key's; null takes the key out of it. */
  project: z.string().min(1).max(200).nullable().optional(),
};

export const createKeySchema = z
  .object({
    name: z.string().min(1).max(200),
    ...scopeFields,
    /** A honeytoken: looks like any key; any use raises a critical alert and is refused as out of quota. */
    canary: z.boolean().optional(),
  })
  .strict();
/** POST /keys/{id}/children: an ephemeral key that can only narrow its parent (see child-keys.ts). */
export const createChildKeySchema = z
  .object({
    /** Seconds, or a duration such as 15m; at most 24h. */
    ttl: z.union([z.number().int().positive(), z.string().min(1).max(20)]),
    name: z.string().min(1).max(200).optional(),
    models: scopeFields.models,
    endpoints: scopeFields.endpoints,
    ip_allowlist: scopeFields.ip_allowlist,
    max_body_bytes: scopeFields.max_body_bytes,
    metadata: scopeFields.metadata,
    /** The child's own lifetime budget in USD; at most the parent's smallest budget. */
    budget_usd: z.number().positive().max(1_000_000).optional(),
  })
  .strict();

export const updateKeySchema = z.object({ name: z.string().min(1).max(200).optional(), ...scopeFields }).strict();
export const rotateKeySchema = z
  .object({
    grace: z
      .union([z.number().int().min(0), z.string().refine((s) => parseDuration(s) !== null, { message: 'expected a duration' })])
      .optional(),
  })
  .strict();

export const leakReportSchema = z
  .object({
    key: z.string().min(1).max(200),
    /** Where it was found: a file path, commit, URL. */
    source: z.string().min(1).max(1000),
    revoke: z.boolean().default(true),
  })
  .strict();

export const suspendKeySchema = z.object({ reason: z.string().min(1).max(500).optional() }).strict();

export const createUpstreamSchema = z
  .object({
    name: z.string().min(1).max(100).regex(/^[\w.-]+$/, 'use letters, digits, . _ -'),
    provider: z.enum(['openai', 'azure', 'openai-compatible']),
    base_url: z.string().url().optional(),
    api_version: z.string().min(1).optional(),
    deployments: z.record(z.string(), z.string().min(1)).optional(),
    keys: z.array(z.string().min(8).max(1000)).min(1).max(100),
    default: z.boolean().optional(),
  })
  .strict();

export type CreateKeyInput = z.infer<typeof createKeySchema>;
export type CreateChildKeyInput = z.infer<typeof createChildKeySchema>;
export type UpdateKeyInput = z.infer<typeof updateKeySchema>;
export type CreateUpstreamInput = z.infer<typeof createUpstreamSchema>;
