import { maskSecret } from '../keys/index.js';
import type { JsonObject, JsonValue } from './types.js';

/**
 * Turns an arbitrary before/after object into a small JSON summary with no secrets, by structure first:
 * - fields named like hashes or ciphertext (hash, previousHash, ciphertext, pepper, password, …) are dropped;
 * - fields named like secrets (key, apiKey, secret, token, authorization, …) keep only maskSecret's prefix + last 4;
 * and then by value, in case a secret sits in an innocently named field: anything shaped like a virtual key, an
 * admin token or a provider key is masked wherever it appears.
 */

const DROP_SUFFIXES = ['hash', 'ciphertext', 'pepper', 'password', 'passwd', 'sealed', 'wrapped', 'privatekey', 'masterkey', 'datakey'];
const MASK_SUFFIXES = ['key', 'secret', 'token', 'authorization', 'cookie', 'credential', 'credentials'];

const SECRET_VALUE = /\b(?:kw_[0-9A-Za-z]{38}|kwadm_[0-9A-Za-z]{40}(?:[0-9A-Za-z]{6})?|sk-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,})\b|\bBearer\s+\S{8,}/g;

const MAX_DEPTH = 6;
const MAX_ARRAY = 100;
const MAX_STRING = 1_000;

type FieldRule = 'drop' | 'mask' | 'keep';

function ruleFor(name: string): FieldRule {
  const normalized = name.toLowerCase().replace(/[-_\s]/g, '');
  if (DROP_SUFFIXES.some((suffix) => normalized.endsWith(suffix))) return 'drop';
  if (MASK_SUFFIXES.some((suffix) => normalized.endsWith(suffix))) return 'mask';
  return 'keep';
}

function cleanString(text: string): string {
  const masked = text.replace(SECRET_VALUE, (match) => maskSecret(match.replace(/^Bearer\s+/, '')));
  return masked.length > MAX_STRING ? `${masked.slice(0, MAX_STRING)}…` : masked;
}

function cleanValue(value: unknown, depth: number): JsonValue | undefined {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
      return cleanString(value);
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return '[binary]';
  if (value instanceof Error) return `[${value.name}]`;
  if (depth >= MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value) || value instanceof Set) {
    const items = [...(value as Iterable<unknown>)];
    const cleaned = items.slice(0, MAX_ARRAY).map((item) => cleanValue(item, depth + 1) ?? null);
    if (items.length > MAX_ARRAY) cleaned.push(`[${items.length - MAX_ARRAY} more]`);
    return cleaned;
  }
  const entries = value instanceof Map ? [...(value as Map<unknown, unknown>)] : Object.entries(value);
  return cleanObject(entries, depth);
}

function cleanObject(entries: Array<[unknown, unknown]>, depth: number): JsonObject {
  const out: JsonObject = {};
  for (const [rawName, field] of entries) {
    const name = String(rawName);
    const rule = ruleFor(name);
    if (rule === 'drop') continue;
    if (rule === 'mask') {
      // Only a string can be shown masked; a structured secret (e.g. a key object) is dropped whole.
      if (typeof field === 'string') out[name] = maskSecret(field);
      else if (field === null) out[name] = null;
      continue;
    }
    const cleaned = cleanValue(field, depth + 1);
    if (cleaned !== undefined) out[name] = cleaned;
  }
  return out;
}

/** The sanitized summary, or null when there is nothing to record. A non-object becomes `{ value: … }`. */
export function sanitizeSummary(input: unknown): JsonObject | null {
  if (input === undefined || input === null) return null;
  const cleaned = cleanValue(input, 0);
  if (cleaned === undefined || cleaned === null) return null;
  if (typeof cleaned === 'object' && !Array.isArray(cleaned)) return cleaned;
  return { value: cleaned };
}
