import { z } from 'zod';

/**
 * The OpenAI Admin API response shapes keywarden reads (platform.openai.com/docs/api-reference/administration).
 * Parsed with zod at the boundary: a hostile or changed upstream yields a typed error, never an `any` deep inside.
 * Objects are not `.strict()`: OpenAI adds fields over time and extra ones must not break the inventory.
 */

/** `{object: "list", data, first_id, last_id, has_more}`: cursor pagination with `after=<last_id>`. */
export const cursorPageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    has_more: z.boolean().optional().default(false),
    last_id: z.string().nullish(),
  });

export const projectSchema = z.object({
  id: z.string().min(1).max(200),
  object: z.literal('organization.project').optional(),
  name: z.string().max(1000),
  created_at: z.number().nullish(),
  archived_at: z.number().nullish(),
  status: z.string().max(50).optional(),
});
export type Project = z.output<typeof projectSchema>;

const serviceAccountRefSchema = z.object({
  id: z.string().min(1).max(200),
  name: z.string().max(1000).optional(),
  role: z.string().max(100).optional(),
  created_at: z.number().nullish(),
});

const userRefSchema = z.object({
  id: z.string().min(1).max(200),
  name: z.string().max(1000).optional(),
  email: z.string().max(1000).optional(),
  role: z.string().max(100).optional(),
});

export const projectApiKeySchema = z.object({
  id: z.string().min(1).max(200),
  object: z.literal('organization.project.api_key').optional(),
  name: z.string().max(1000).nullish(),
  redacted_value: z.string().max(400),
  created_at: z.number().nullish(),
  last_used_at: z.number().nullish(),
  owner: z
    .object({
      type: z.enum(['user', 'service_account']).optional(),
      user: userRefSchema.nullish(),
      service_account: serviceAccountRefSchema.nullish(),
    })
    .optional(),
});
export type ProjectApiKey = z.output<typeof projectApiKeySchema>;

export const serviceAccountSchema = z.object({
  id: z.string().min(1).max(200),
  object: z.literal('organization.project.service_account').optional(),
  name: z.string().max(1000),
  role: z.string().max(100).optional(),
  created_at: z.number().nullish(),
});
export type ServiceAccount = z.output<typeof serviceAccountSchema>;

export const deletedSchema = z.object({ id: z.string().max(200), deleted: z.boolean() });

/** One result of `organization/usage/completions` grouped by `api_key_id`. */
export const usageResultSchema = z.object({
  input_tokens: z.number().nonnegative().default(0),
  output_tokens: z.number().nonnegative().default(0),
  input_cached_tokens: z.number().nonnegative().nullish(),
  num_model_requests: z.number().nonnegative().default(0),
  api_key_id: z.string().max(200).nullish(),
  project_id: z.string().max(200).nullish(),
  model: z.string().max(200).nullish(),
});
export type UsageResult = z.output<typeof usageResultSchema>;

/** Usage pages are `{object: "page", data: [bucket], has_more, next_page}`: a page token, not a cursor. */
export const usagePageSchema = z.object({
  data: z.array(
    z.object({
      start_time: z.number(),
      end_time: z.number(),
      results: z.array(usageResultSchema),
    }),
  ),
  has_more: z.boolean().optional().default(false),
  next_page: z.string().max(2000).nullish(),
});

export const auditLogEntrySchema = z.object({
  id: z.string().max(200),
  type: z.string().max(200),
  effective_at: z.number(),
  actor: z.unknown().optional(),
});
export type AuditLogEntry = z.output<typeof auditLogEntrySchema>;

/**
 * `POST /organization/projects/{project_id}/service_accounts/{service_account_id}/api_keys` answers the new key
 * unredacted, once: `{object: "organization.project.service_account.api_key", id, name, created_at, value, expires_at}`.
 */
export const createdServiceAccountKeySchema = z.object({
  id: z.string().min(1).max(200),
  object: z.literal('organization.project.service_account.api_key').optional(),
  name: z.string().max(1000).nullish(),
  created_at: z.number().nullish(),
  value: z.string().min(20).max(1000),
  expires_at: z.number().nullish(),
});
export type CreatedServiceAccountKey = z.output<typeof createdServiceAccountKeySchema>;

/** `POST /organization/projects/{project_id}/service_accounts` answers the account with its first key (`api_key`). */
export const createdServiceAccountSchema = serviceAccountSchema.extend({ api_key: createdServiceAccountKeySchema });
export type CreatedServiceAccount = z.output<typeof createdServiceAccountSchema>;
