import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KeywardenError } from '../../errors/index.js';
import { ALL_RULES } from '../rules/index.js';
import { PROVIDER_IDS } from '../types.js';

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
      .default([]),
    /** Extra paths to skip, gitignore syntax, on top of .keywardenignore. */
    ignorePaths: z.array(z.string().min(1)).default([]),
    /** Files or blobs larger than this many bytes are skipped. */
    maxFileSize: z.number().int().positive().default(10 * 1024 * 1024),
    /** Look inside base64 and URL-encoded strings. */
    decode: z.boolean().default(true),
    /** Worker threads for path and history scans. */
    workers: z.number().int().min(0).max(64).default(2),
    /** Baseline file used when --baseline is not given. */
    baseline: z.string().min(1).optional(),
    verify: z
      .object({
        timeoutMs: z.number().int().positive().max(60_000).default(5_000),
        concurrency: z.number().int().min(1).max(32).default(4),
        /** Per-provider base URL overrides (self-hosted proxies, tests). */
        baseUrls: z.partialRecord(z.enum(PROVIDER_IDS), z.url()).default({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ScanConfig = z.output<typeof scanConfigSchema>;

const fileSchema = z.looseObject({ scan: scanConfigSchema.prefault({}) });

const CONFIG_NAMES = ['keywarden.config.json', 'keywarden.config.yaml', 'keywarden.config.yml'];

/** Every problem at once, one per line, each with its path. */
function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `  - ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('\n');
}

export function parseScanConfig(raw: unknown, source = 'configuration'): ScanConfig {
  const result = fileSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new KeywardenError('KW_CONFIG_INVALID', { message: `Invalid ${source}:\n${formatIssues(result.error.issues)}` });
  }
  return result.data.scan;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeywardenError('KW_CONFIG_INVALID', { message: `Cannot read ${path.basename(file)}` });
  }
}

/** Loads `explicit` (which must exist) or the first keywarden.config.* in `cwd`; defaults when there is none. */
export async function loadScanConfig(cwd: string, explicit?: string): Promise<ScanConfig> {
  const candidates = explicit !== undefined ? [path.resolve(cwd, explicit)] : CONFIG_NAMES.map((name) => path.join(cwd, name));
  for (const file of candidates) {
    const text = await readIfExists(file);
    if (text === undefined) {
      if (explicit !== undefined) throw new KeywardenError('KW_CONFIG_INVALID', { message: `Config file ${explicit} not found` });
      continue;
    }
    let raw: unknown;
    try {
      raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
    } catch {
      throw new KeywardenError('KW_CONFIG_INVALID', { message: `${path.basename(file)} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}` });
    }
    return parseScanConfig(raw, path.basename(file));
  }
  return parseScanConfig({});
}

/** Lines of a .keywardenignore file (gitignore syntax), or none. */
export async function readKeywardenIgnore(dir: string): Promise<string[]> {
  const text = await readIfExists(path.join(dir, '.keywardenignore'));
  return text === undefined ? [] : text.split(/\r?\n/);
}
