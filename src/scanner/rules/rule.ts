import type { ProviderId } from '../types.js';

/** Snippets that a rule must (positive) and must not (negative) report. Built at runtime, never stored as literals. */
export interface RuleFixtures {
  positive: string[];
  negative: string[];
}

interface RuleBase {
  id: string;
  provider: ProviderId;
  title: string;
  description: string;
  docsUrl: string;
  /** Extra check on a candidate that already has the right shape (checksums, character mix). */
  validate?: (secret: string) => boolean;
  fixtures: () => RuleFixtures;
}

/**
 * A key that starts with a fixed vendor prefix. The engine finds `anchor` with one combined prefilter, grows the
 * candidate over `charset` (so whatever follows the key — quote, `&`, `)`, `,`, `;`, newline, EOF — ends it), then
 * tests `shape` against the whole candidate.
 */
export interface PrefixRule extends RuleBase {
  kind: 'prefix';
  /** Short literal the prefilter looks for; several rules may share one (`sk-`). */
  anchor: string;
  /** The full static prefix, stripped before the placeholder checks. */
  prefix: string;
  charset: RegExp;
  /** Anchored pattern for the whole candidate. */
  shape: RegExp;
  /** Words (lower case) one of which must appear near the key, for prefixes that other vendors share. */
  contextWords?: readonly string[];
}

/**
 * A key with no vendor prefix (Mistral, Cohere, Azure...). The engine looks for `keywords` (case-insensitive) and
 * then, near them and on a line that names a key, for a standalone run of exactly `tokenLength` `tokenChars`.
 */
export interface ContextRule extends RuleBase {
  kind: 'context';
  keywords: readonly string[];
  /** Single-character class of the token. */
  tokenChars: RegExp;
  tokenLength: number;
  /**
   * Tested on up to 200 characters of the token's line before it: a match means the token is a known vendor id,
   * not a key (an Azure Key Vault secret version under `vault.azure.net`).
   */
  notAfter?: RegExp;
}

export type Rule = PrefixRule | ContextRule;

/** Characters of a token-style key: base62 plus `-` and `_`. */
export const TOKEN_CHARS = /[A-Za-z0-9_-]/;
export const BASE62_CHARS = /[A-Za-z0-9]/;

/** True when both letter cases occur: random mixed-case keys nearly always have both, hex digests never do. */
export function hasMixedCase(secret: string): boolean {
  return /[a-z]/.test(secret) && /[A-Z]/.test(secret);
}

