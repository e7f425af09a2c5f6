import { KeywardenError } from '../errors/index.js';

export const MIN_ADMIN_TOKEN_LENGTH = 32;
/** Empirical Shannon entropy over the whole string. 32 random hex characters (128 real bits) score ~117 (rarely below 100). */
const MIN_ENTROPY_BITS = 88;
/** Share of distinct 3-grams: a repeated word ("passwordpassword…") scores low, random text ~1. */
const MIN_DISTINCT_TRIGRAMS = 0.75;
/** Share of neighbours that are consecutive characters ("abcdef…", "123456…"). */
const MAX_SEQUENTIAL_PAIRS = 0.5;

function shannonBits(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * text.length;
}

/** Why an operator-supplied admin token is too weak, or null when it is acceptable. The token is never echoed. */
export function adminTokenWeakness(token: string): string | null {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) return `it is ${token.length} characters long; at least ${MIN_ADMIN_TOKEN_LENGTH} are required`;
  if (/\s/.test(token)) return 'it contains whitespace';
  if (shannonBits(token) < MIN_ENTROPY_BITS) return 'it has too little entropy (too few distinct characters)';
  const trigrams = new Set<string>();
  for (let i = 0; i + 3 <= token.length; i++) trigrams.add(token.slice(i, i + 3));
  if (trigrams.size / (token.length - 2) < MIN_DISTINCT_TRIGRAMS) return 'it has too little entropy (it repeats itself)';
  let sequential = 0;
  for (let i = 1; i < token.length; i++) if (Math.abs(token.charCodeAt(i) - token.charCodeAt(i - 1)) === 1) sequential++;
  if (sequential / (token.length - 1) > MAX_SEQUENTIAL_PAIRS) return 'it has too little entropy (runs of consecutive characters)';
  return null;
}

/** Refuses a weak KEYWARDEN_ADMIN_TOKEN at start, before anything is stored. */
export function assertStrongAdminToken(token: string, source: string): void {
  const weakness = adminTokenWeakness(token);
  if (weakness === null) return;
  throw new KeywardenError('KW_WEAK_ADMIN_TOKEN', {
    message: `${source} is too weak: ${weakness}. Use at least ${MIN_ADMIN_TOKEN_LENGTH} random characters (for example \`openssl rand -base64 32\`), or unset it and let keywarden generate a token on first start. It was not stored.`,
  });
}
