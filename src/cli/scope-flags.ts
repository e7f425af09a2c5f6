import { KeywardenError } from '../errors/index.js';
import { KNOWN_ENDPOINT_GROUPS, isValidRange, matchesModelGlob } from '../policy/index.js';
import { OPENAI_PRICES, PriceTable } from '../pricing/index.js';
import { parseTimeOrDuration } from '../util/duration.js';

/**
 * Checks of `keys create/update` scope flags that catch typos before they reach the server: a wrong flag must
 * fail loudly (exit 2) rather than create a key that silently grants nothing, or everything. The admin API checks
 * the same things for hand-made requests; these give CLI users a message that names the flag.
 */

const KNOWN_MODELS = Object.keys(OPENAI_PRICES);
const prices = new PriceTable();
const isGlob = (pattern: string): boolean => /[*?]/.test(pattern);

export const splitList = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);

/** Whether any model in the pricing table (the list of known models) matches the pattern. */
export function matchesKnownModel(pattern: string): boolean {
  if (!isGlob(pattern)) return prices.priceOf(pattern) !== null;
  return KNOWN_MODELS.some((model) => matchesModelGlob(pattern, model));
}

/** `--endpoints chat,embeddings`: every group must exist; `*` grants all. */
export function endpointsFlag(value: string): string[] {
  const groups = splitList(value);
  const valid = `Valid groups: ${KNOWN_ENDPOINT_GROUPS.join(', ')}, or '*' for all.`;
  if (groups.length === 0) throw new KeywardenError('KW_USAGE', { message: `--endpoints is empty. ${valid}` });
  const unknown = groups.filter((g) => g !== '*' && !KNOWN_ENDPOINT_GROUPS.includes(g));
  if (unknown.length > 0) {
    const hint = unknown.map((g) => KNOWN_ENDPOINT_GROUPS.find((k) => k === `${g}s` || `${k}s` === g || k === g.replace(/-/g, '_'))).find(Boolean);
    throw new KeywardenError('KW_USAGE', {
      message: `--endpoints: unknown group ${unknown.map((g) => `"${g}"`).join(', ')}${hint ? ` (did you mean "${hint}"?)` : ''}. ${valid}`,
    });
  }
  return groups;
}

/**
 * `--models 'gpt-4o-mini,gpt-4.1*'`. An empty value is an error, not "all models" (omit the flag or pass '*' for
 * that). A pattern that matches no known model is allowed (new and fine-tuned models are not in the table) but
 * warned about, because it is usually a typo such as gtp-4o-mini.
 */
export function modelsFlag(value: string, warn: (text: string) => void): string[] {
  const patterns = splitList(value);
  if (patterns.length === 0) {
    throw new KeywardenError('KW_USAGE', { message: "--models is empty. Name at least one model or glob, or pass '*' to allow every model." });
  }
  for (const pattern of patterns) {
    if (!matchesKnownModel(pattern)) {
      warn(`warning: --models "${pattern}" matches no known model (pricing table); check the spelling. Proceeding.`);
    }
  }
  return patterns;
}

/** Warns when a key may call embeddings but none of its model patterns matches an embedding model. */
export function warnScopeMismatch(models: readonly string[] | undefined, endpoints: readonly string[] | undefined, warn: (text: string) => void): void {
  if (!models || models.length === 0 || models.includes('*') || !endpoints?.includes('embeddings')) return;
  const embeddingModels = KNOWN_MODELS.filter((m) => m.includes('embedding'));
  if (!models.some((pattern) => embeddingModels.some((m) => matchesModelGlob(pattern, m)))) {
    warn(
      `warning: --endpoints includes embeddings, but no --models pattern matches an embedding model (${embeddingModels.join(', ')}); ` +
        'embeddings requests will be refused with model_not_allowed.',
    );
  }
}

/** `--ip 10.0.0.0/8 --ip 192.168.1.5` or `--ip any` (no IP restriction). */
export function ipFlag(values: readonly string[]): string[] {
  const ranges = values.flatMap(splitList);
  if (ranges.length === 0) throw new KeywardenError('KW_USAGE', { message: "--ip is empty. Pass a CIDR or address, or 'any' for no IP restriction." });
  if (ranges.some((r) => r.toLowerCase() === 'any')) {
    if (ranges.length > 1) throw new KeywardenError('KW_USAGE', { message: "--ip any means no restriction; it cannot be combined with addresses." });
    return [];
  }
  const bad = ranges.filter((r) => !isValidRange(r));
  if (bad.length > 0) throw new KeywardenError('KW_USAGE', { message: `--ip: not an IP address or CIDR range: ${bad.map((b) => `"${b}"`).join(', ')}` });
  return ranges;
}

/** `--expires 30d | 2027-01-31 | never`: a date must be in the future. Checked here too so the message names the flag. */
export function expiresFlag(value: string, now: number): string | null {
  if (value === 'never') return null;
  const at = parseTimeOrDuration(value, now);
  if (at === null) throw new KeywardenError('KW_USAGE', { message: `--expires takes a duration such as 30d, an ISO date, or 'never'; got "${value}"` });
  if (at <= now) {
    throw new KeywardenError('KW_USAGE', {
      message: `--expires ${value} is in the past (${new Date(at).toISOString()}); use a future date or a duration such as 30d. To stop a key now, revoke it.`,
    });
  }
  return value;
}
