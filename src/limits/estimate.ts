type TokenCounter = (text: string) => number;
let tokenCounter: TokenCounter | null = null;

/**
 * The tokenizer is loaded on first use only: its tables take ~60 MB, and the gateway needs them only when a cheap
 * bound is not enough (near a limit) or a stream ended without reporting usage.
 */
async function countTokens(text: string): Promise<number> {
  tokenCounter ??= (await import('gpt-tokenizer/encoding/o200k_base')).countTokens;
  return tokenCounter(text);
}

/**
 * Sizing a request for limits: the output cap it carries, where a cap would be injected, and two input-token
 * estimates — a cheap upper bound (bytes; a byte-level BPE token is at least one byte, and JSON syntax outweighs
 * the chat template's per-message tokens) and a real tokenizer count, used only when the bound does not fit.
 */

/** Worst case per image input: high-detail tiles on the most expensive vision models stay below this. */
export const TOKENS_PER_IMAGE = 2_500;
/** Chat template overhead per message, and per request (reply priming). */
const TOKENS_PER_MESSAGE = 4;
const TOKENS_PER_REQUEST = 3;

export type CapField = 'max_completion_tokens' | 'max_tokens' | 'max_output_tokens';

export interface RequestShape {
  /** The output cap the request asked for, already multiplied by `n`/`best_of`. */
  outputCap: number | null;
  /** Choices generated per request: an injected cap is multiplied by this. */
  choices: number;
  /** Where an output cap is injected for this endpoint; null where output is not priced by tokens. */
  capField: CapField | null;
  /** True when the endpoint produces no output tokens (embeddings, moderations). */
  inputOnly: boolean;
  imageCount: number;
  inputBoundTokens: number;
}

const CAP_FIELD_BY_PATH: Record<string, CapField> = {
  '/v1/chat/completions': 'max_completion_tokens',
  '/v1/completions': 'max_tokens',
  '/v1/responses': 'max_output_tokens',
};
const INPUT_ONLY_PATHS = new Set(['/v1/embeddings', '/v1/moderations']);

function positiveInt(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

function countImages(value: unknown, depth = 0): number {
  if (depth > 8 || typeof value !== 'object' || value === null) return 0;
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + countImages(item, depth + 1), 0);
  const record = value as Record<string, unknown>;
  if (record.type === 'image_url' || record.type === 'input_image') return 1;
  let sum = 0;
  for (const key in record) if (key === 'content' || key === 'input' || key === 'messages') sum += countImages(record[key], depth + 1);
  return sum;
}

export function shapeRequest(path: string, json: Record<string, unknown> | null, bodyBytes: number): RequestShape {
  const capField = CAP_FIELD_BY_PATH[path] ?? null;
  const inputOnly = INPUT_ONLY_PATHS.has(path);
  const choices = Math.max(positiveInt(json?.n) ?? 1, positiveInt(json?.best_of) ?? 1);
  let cap: number | null = null;
  if (json && capField) {
    cap = positiveInt(json.max_completion_tokens) ?? positiveInt(json.max_tokens) ?? positiveInt(json.max_output_tokens);
  }
  const imageCount = json ? countImages(json.messages ?? json.input) : 0;
  return {
    outputCap: cap === null ? null : cap * choices,
    choices,
    capField,
    inputOnly,
    imageCount,
    inputBoundTokens: bodyBytes + imageCount * TOKENS_PER_IMAGE,
  };
}

function collectText(value: unknown, out: string[], depth: number): void {
  if (depth > 12) return;
  if (typeof value === 'string') {
    if (!value.startsWith('data:')) out.push(value);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) collectText(item, out, depth + 1);
    return;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (key !== 'model' && key !== 'image_url' && key !== 'stream_options') collectText(item, out, depth + 1);
  }
}

/** Tokenizer estimate of a request's input: every text value it carries, plus template and image allowances. */
export async function countInputTokens(json: Record<string, unknown> | null, imageCount: number): Promise<number> {
  if (!json) return 0;
  const texts: string[] = [];
  collectText(json, texts, 0);
  const messages = Array.isArray(json.messages) ? json.messages.length : Array.isArray(json.input) ? json.input.length : 1;
  return (await countTokens(texts.join('\n'))) + messages * TOKENS_PER_MESSAGE + TOKENS_PER_REQUEST + imageCount * TOKENS_PER_IMAGE;
}

/** Tokens in text the model streamed, for settling a stream that ended without its usage chunk. */
export async function countOutputTokens(text: string): Promise<number> {
  return text.length === 0 ? 0 : countTokens(text);
}
