// Small, allocation-light helpers shared by the fake upstream's handlers: JSON narrowing without `any`,
// deterministic ids, token estimates and a seeded PRNG for embeddings.
import { randomBytes } from 'node:crypto';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

// A random tag per process keeps ids unique across fake instances and benchmark runs, while the counter
// keeps generating them cheap on the hot path (no crypto call per request).
const processTag = randomBytes(4).toString('hex');
let counter = 0;

export function newId(prefix: string): string {
  counter += 1;
  return `${prefix}${processTag}${counter.toString(36).padStart(12, '0')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Roughly OpenAI's "4 characters per token" rule; never 0 for non-empty text. */
export function textTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

/**
 * Collects the text of a chat message content, a Responses `input`, or a prompt: strings, arrays of
 * strings, and content parts carrying `text`. Non-text parts (images, audio) count as nothing.
 */
export function collectText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    let out = '';
    for (const item of value) out += collectText(item);
    return out;
  }
  if (isObject(value)) {
    if (typeof value.text === 'string') return value.text;
    if (value.content !== undefined) return collectText(value.content);
  }
  return '';
}

/** Prompt tokens for a list of chat messages: text tokens plus OpenAI's per-message framing overhead. */
export function messagesTokens(messages: readonly unknown[]): number {
  let total = 3;
  for (const message of messages) total += 4 + textTokens(collectText(message));
  return total;
}

/** FNV-1a, to derive a stable seed from request text. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** xorshift32 stream of floats in [-1, 1): deterministic for a given seed. */
export function seededFloats(seed: number, count: number): number[] {
  let x = seed || 0x9e3779b9;
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) / 0x80000000 - 1;
  }
  return out;
}

/** Splits a reply into word-sized deltas (" word"), the way models stream roughly one token at a time. */
export function splitDeltas(text: string): string[] {
  const parts = text.match(/\s*\S+/g);
  return parts ?? (text.length > 0 ? [text] : []);
}
