import { collectTokenText, inspectContent } from './content-walk.js';
import { OUTPUT_CAP_FIELDS, outputCapWithoutFields, readOutputCap, type CapField } from './output-cap.js';
import { UNSEEN_TOP_LEVEL_FIELDS, unseenTopLevel } from './unseen-inputs.js';

export type { CapField } from './output-cap.js';

/**
 * Sizing a request for limits: the output cap it carries, where a cap would be injected, and two input-token
 * bounds. The cheap one (hot path) is the body's byte count — a byte-level BPE token is at least one byte, JSON
 * syntax outweighs the chat template's per-message tokens, and a token id in an array takes at least two bytes —
 * plus every image at the model's maximum for its detail. The tokenizer bound, used only when the cheap one does
 * not fit, counts every element of the body (see content-walk.ts). Both are upper bounds; the smaller is used.
 */
export interface RequestShape {
  /** The output cap the request asked for, already multiplied by `n`/`best_of`. */
  outputCap: number | null;
  /** Choices generated per request: an injected cap is multiplied by this. */
  choices: number;
  /** Where an output cap is injected for this endpoint; null where output is not priced by tokens. */
  capField: CapField | null;
  /** True when the endpoint produces no output tokens (embeddings, moderations). */
  inputOnly: boolean;
  imageTokens: number;
  inputBoundTokens: number;
  /** A field or part whose cost the provider adds server-side, invisible here; null when there is none. */
  unseen: string | null;
  /**
   * Output tokens billed beyond the cap: rejected tokens of a predicted output (`prediction`) bill at the output
   * price. The prediction is part of the body, so the body's bytes bound them.
   */
  extraOutputTokens: number;
}

/** Template overhead per request (reply priming), and slack per element and per object of the body. */
const TOKENS_PER_REQUEST = 3;
const TOKENS_PER_OBJECT = 4;

/** Every top-level field the sizing rules read (output cap, unseen inputs, prediction). */
const SIZING_FIELDS: ReadonlySet<string> = new Set([...OUTPUT_CAP_FIELDS, ...UNSEEN_TOP_LEVEL_FIELDS, 'prediction']);

/**
 * True when the body has a top-level field the sizing rules read. One pass over the body's own few keys: a plain
 * chat body has none of them, and then the rules' dozen lookups of absent fields (each a miss that also searches
 * the prototype chain) are skipped; their answers for such a body are known.
 */
function hasSizingField(json: Record<string, unknown>): boolean {
  for (const key in json) if (SIZING_FIELDS.has(key)) return true;
  return false;
}

export function shapeRequest(path: string, json: Record<string, unknown> | null, bodyBytes: number, model: string | null): RequestShape {
  const sized = json !== null && hasSizingField(json);
  const caps = sized ? readOutputCap(path, json) : outputCapWithoutFields(path);
  const content = json ? inspectContent(json, model) : null;
  const imageTokens = content?.imageTokens ?? 0;
  return {
    outputCap: caps.cap === null ? null : caps.cap * caps.choices,
    choices: caps.choices,
    capField: caps.capField,
    inputOnly: caps.inputOnly,
    imageTokens,
    inputBoundTokens: bodyBytes + imageTokens,
    unseen: content === null ? null : ((sized ? unseenTopLevel(path, json) : null) ?? content.unseenPart),
    extraOutputTokens: sized && json.prediction !== undefined && json.prediction !== null ? bodyBytes : 0,
  };
}

type Encoding = 'o200k_base' | 'cl100k_base';
type TokenCounter = (text: string) => number;
const counters = new Map<Encoding, TokenCounter>();

/** The encoding of a model family, or null when unknown (then only the byte bound is trusted). */
export function encodingOf(model: string | null): Encoding | null {
  if (model === null) return null;
  if (/^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|codex|computer-use)/.test(model)) return 'o200k_base';
  if (/^(gpt-4|gpt-3\.5|text-embedding-|davinci-002|babbage-002)/.test(model)) return 'cl100k_base';
  return null;
}

/**
 * The tokenizer is loaded on first use only: its tables take ~60 MB, and the gateway needs them only when a cheap
 * bound is not enough (near a limit) or a stream ended without reporting usage. Special tokens such as
 * `<|endoftext|>` are counted as the plain text the provider sees them as: the default throws on them.
 */
async function counterFor(encoding: Encoding): Promise<TokenCounter> {
  let counter = counters.get(encoding);
  if (!counter) {
    const module = encoding === 'o200k_base' ? await import('gpt-tokenizer/encoding/o200k_base') : await import('gpt-tokenizer/encoding/cl100k_base');
    const plainText = { disallowedSpecial: new Set<string>() };
    counter = (text: string): number => module.countTokens(text, plainText);
    counters.set(encoding, counter);
  }
  return counter;
}

/**
 * Tokenizer bound of a request's input: every element's tokens plus one per element and a few per object, plus
 * the images at their maximum. Null when the model's encoding is unknown (the byte bound stands).
 */
export async function countInputTokens(json: Record<string, unknown> | null, model: string | null, imageTokens: number): Promise<number | null> {
  const encoding = encodingOf(model);
  if (!json || !encoding) return null;
  const count = await counterFor(encoding);
  const { text, elements, objects } = collectTokenText(json);
  return count(text) + elements + objects * TOKENS_PER_OBJECT + TOKENS_PER_REQUEST + imageTokens;
}

/** Tokens in text the model streamed, for settling a stream that ended without its usage chunk. */
export async function countOutputTokens(text: string, model: string | null): Promise<number> {
  if (text.length === 0) return 0;
  const encoding = encodingOf(model);
  // Unknown encoding: a token is at least one byte.
  return encoding ? (await counterFor(encoding))(text) : Buffer.byteLength(text);
}
