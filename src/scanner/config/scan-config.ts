import { z } from 'zod';
import { formatIssues } from '../../config/format-issues.js';
import { KeywardenError } from '../../errors/index.js';
import { ALL_RULES } from '../rules/index.js';
import { PROVIDER_IDS } from '../types.js';
import { DEFAULT_SCAN_CONFIG, type ScanConfig } from './defaults.js';

const D = DEFAULT_SCAN_CONFIG;

const ruleIds = new Set(ALL_RULES.map((rule) => rule.id));

/**
 * The scanner's part of keywarden.config.{json,yaml}: the `scan` section. Other top-level sections belong to the
 * gateway's schema and are validated there; inside `scan`, unknown keys are errors so typos surface.
 */
export const scanConfigSchema = z
  .object({
    /** Rule ids to turn off. */
    disableRules: z
      .array(z.string().refine((id) => ruleIds.has(id), { message: 'unknown rule id' }))
      .default(() => [...D.disableRules]),
    /** Extra paths to skip, gitignore syntax, on top of .keywardenignore. */
    ignorePaths: z.array(z.string().min(1)).default(() => [...D.ignorePaths]),
    /** Files or blobs larger than this many bytes are skipped (and counted). Default: no cap. */
    maxFileSize: z.number().int().positive().optional(),
    /** Look inside base64 and URL-encoded strings. */
    decode: z.boolean().default(D.decode),
    /** Worker threads for path and history scans. */
    workers: z.number().int().min(0).max(64).default(D.workers),
    /** Baseline file used when --baseline is not given. */
    baseline: z.string().min(1).optional(),
    verify: z
      .object({
        timeoutMs: z.number().int().positive().max(60_000).default(D.verify.timeoutMs),
        concurrency: z.number().int().min(1).max(32).default(D.verify.concurrency),
        /**
         * Per-provider base URL overrides (self-hosted proxies, tests). Honoured only in the user-level config
         * (~/.config/keywarden/config.yaml); in a project's keywarden.config they are ignored with a warning.
         */
        baseUrls: z.partialRecord(z.enum(PROVIDER_IDS), z.url()).default({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

// The hand-written ScanConfig (defaults.ts) must stay what the schema produces; this fails to compile otherwise.
const _schemaMatchesType: (value: z.output<typeof scanConfigSchema>) => ScanConfig = (value) => value;
void _schemaMatchesType;

const fileSchema = z.looseObject({ scan: scanConfigSchema.prefault({}) });


export function parseScanConfig(raw: unknown, source = 'configuration'): ScanConfig {
  const result = fileSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new KeywardenError('KW_CONFIG_INVALID', { message: `Invalid ${source}:\n${formatIssues(result.error.issues)}` });
  }
  return result.data.scan;
}
