import type { ProviderId } from '../types.js';

/**
 * The `scan` section of keywarden.config.{json,yaml}, after validation. The zod schema (scan-config.ts) takes its
 * defaults from DEFAULT_SCAN_CONFIG, so a run without a config file needs neither zod nor yaml loaded — that keeps
 * `keywarden scan --staged` in a pre-commit hook fast to start.
 */
export interface ScanConfig {
  disableRules: string[];
  ignorePaths: string[];
  /** Bytes; files over it are skipped (and counted). Undefined, the default: no cap, any size is scanned. */
  maxFileSize?: number | undefined;
  decode: boolean;
  workers: number;
  baseline?: string | undefined;
  verify: {
    timeoutMs: number;
    concurrency: number;
    baseUrls: Partial<Record<ProviderId, string>>;
  };
}

export const DEFAULT_SCAN_CONFIG: ScanConfig = {
  disableRules: [],
  ignorePaths: [],
  decode: true,
  workers: 2,
  verify: { timeoutMs: 5_000, concurrency: 4, baseUrls: {} },
};

export function defaultScanConfig(): ScanConfig {
  return structuredClone(DEFAULT_SCAN_CONFIG);
}
