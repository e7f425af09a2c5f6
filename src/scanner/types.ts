/** Identifiers of the providers the scanner knows. Verification and reports key off these. */
export const PROVIDER_IDS = [
  'openai',
  'anthropic',
  'google',
  'azure-openai',
  'huggingface',
  'groq',
  'replicate',
  'openrouter',
  'perplexity',
  'xai',
  'together',
  'fireworks',
  'nvidia',
  'cerebras',
  'deepseek',
  'mistral',
  'cohere',
  'keywarden',
] as const;

export type ProviderId = (typeof PROVIDER_IDS)[number];

export type Verification = 'live' | 'invalid' | 'unknown';

/** Where a finding came from in git, when the source is history or a pushed range. */
export interface CommitInfo {
  sha: string;
  author: string;
  email: string;
  date: string;
}

/**
 * One detected secret. The raw secret lives in `secret` and nowhere else: reporters never read it directly but go
 * through `toReportable` (finding.ts), which masks it unless the user asked for `--show-secrets`.
 */
export interface Finding {
  ruleId: string;
  provider: ProviderId;
  title: string;
  secret: string;
  /** sha256 of the secret; the baseline key, so it survives edits and line moves. */
  fingerprint: string;
  path: string;
  /** 1-based line and column (UTF-16 code units, as SARIF expects by default). */
  line: number;
  column: number;
  endColumn: number;
  /** Set when the key was found inside an encoded blob. */
  encoding?: 'base64' | 'url';
  commit?: CommitInfo;
  /** Remote scans: the repository (`owner/name`) and a link to the line in the introducing commit. */
  repository?: string;
  url?: string;
  verification?: Verification;
  /** Why verification ended as it did (HTTP status, timeout, ...). Never contains the secret. */
  verificationDetail?: string;
}

export interface ScanTextOptions {
  /** Path reported in findings. */
  path?: string;
  /** Rule ids to skip. */
  disabledRules?: ReadonlySet<string>;
  /** Look inside base64 and URL-encoded strings (default true). */
  decode?: boolean;
}
