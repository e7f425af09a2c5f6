import type { MediaUsage } from '../pricing/media-prices.js';

/** Token counts as the gateway records them, whichever OpenAI API produced them. */
export interface MeteredTokens {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** Audio and image tokens inside the counts above; present only when the upstream reported some. */
  audioPromptTokens?: number;
  imagePromptTokens?: number;
  audioCompletionTokens?: number;
  /** Cached audio input tokens (inside cachedTokens and audioPromptTokens): Realtime reports them apart. */
  cachedAudioPromptTokens?: number;
  /** What an answer billed by the unit (images, seconds) delivered, when it has no token counts. */
  media?: MediaUsage;
}

/** Answers billed by the unit whose count is read from the answer itself (see mediaOfAnswer). */
export type MediaAnswer = 'images' | 'video';

export const ZERO_TOKENS: MeteredTokens = Object.freeze({
  promptTokens: 0,
  cachedTokens: 0,
  completionTokens: 0,
  reasoningTokens: 0,
});

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

function field(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)[key] : undefined;
}

/**
 * Normalizes a `usage` object. Chat/completions/embeddings use prompt_/completion_tokens; Responses, images and
 * transcriptions use input_/output_tokens. Returns null when the object carries no token counts at all.
 */
export function normalizeUsage(usage: unknown): MeteredTokens | null {
  if (typeof usage !== 'object' || usage === null) return null;
  const prompt = field(usage, 'prompt_tokens') ?? field(usage, 'input_tokens');
  const completion = field(usage, 'completion_tokens') ?? field(usage, 'output_tokens');
  if (typeof prompt !== 'number' && typeof completion !== 'number') return durationUsage(usage);
  // Transcriptions spell it `input_token_details`.
  const promptDetails = field(usage, 'prompt_tokens_details') ?? field(usage, 'input_tokens_details') ?? field(usage, 'input_token_details');
  // Realtime spells it `output_token_details`.
  const completionDetails = field(usage, 'completion_tokens_details') ?? field(usage, 'output_tokens_details') ?? field(usage, 'output_token_details');
  const tokens: MeteredTokens = {
    promptTokens: num(prompt),
    cachedTokens: num(field(promptDetails, 'cached_tokens')),
    completionTokens: num(completion),
    reasoningTokens: num(field(completionDetails, 'reasoning_tokens')),
  };
  // Set only when non-zero: an ordinary text answer reports `"audio_tokens": 0`, and its record keeps one shape.
  const audioIn = num(field(promptDetails, 'audio_tokens'));
  if (audioIn > 0) tokens.audioPromptTokens = audioIn;
  const imageIn = num(field(promptDetails, 'image_tokens'));
  if (imageIn > 0) tokens.imagePromptTokens = imageIn;
  const audioOut = num(field(completionDetails, 'audio_tokens'));
  if (audioOut > 0) tokens.audioCompletionTokens = audioOut;
  const cachedAudio = num(field(field(promptDetails, 'cached_tokens_details'), 'audio_tokens'));
  if (cachedAudio > 0) tokens.cachedAudioPromptTokens = cachedAudio;
  return tokens;
}

/** whisper-1 reports `{"type": "duration", "seconds": 12}`: no tokens, billed by the second. */
function durationUsage(usage: object): MeteredTokens | null {
  const seconds = field(usage, 'seconds');
  if (field(usage, 'type') !== 'duration' || typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return null;
  return { ...ZERO_TOKENS, media: { audioSeconds: seconds } };
}

/**
 * The units an answer without usage delivered, for an endpoint that bills by the unit: a DALL·E answer's images
 * (`data`), a video job's seconds and size (Sora bills the video a creation or a remix starts).
 */
function mediaOfAnswer(body: unknown, kind: MediaAnswer): MeteredTokens | null {
  if (kind === 'images') {
    const data = field(body, 'data');
    return Array.isArray(data) ? { ...ZERO_TOKENS, media: { images: data.length } } : null;
  }
  const seconds = Number(field(body, 'seconds'));
  const size = field(body, 'size');
  const model = field(body, 'model');
  if (field(body, 'object') !== 'video' || !Number.isFinite(seconds) || seconds < 0) return null;
  return {
    ...ZERO_TOKENS,
    media: { videoSeconds: seconds, size: typeof size === 'string' ? size : undefined, model: typeof model === 'string' ? model : undefined },
  };
}

/**
 * Reads usage from a JSON response without parsing the whole body: OpenAI puts the top-level `"usage": {...}`
 * last, and embedding responses can be large. Only that object is parsed; when the fast path is inconclusive the
 * whole body is.
 */
export function usageFromJsonBody(text: string, media: MediaAnswer | null = null): MeteredTokens | null {
  // Only the tail from one character before the last key is encoded (that character, for the escaped-quote check):
  // the same bytes fastUsage would find in the whole body, without copying a large body to scan its end.
  const at = text.lastIndexOf('"usage"');
  return (at > 0 ? fastUsage(Buffer.from(text.slice(at - 1), 'utf8')) : null) ?? fullUsage(text, media);
}

/**
 * usageFromJsonBody for a body kept as bytes (relayed without decoding): the usage object is found and delimited in
 * the bytes, and only its bytes are decoded, so a body is never decoded whole unless the fast path is inconclusive.
 * Same answers as usageFromJsonBody on the decoded body.
 */
export function usageFromJsonBuffer(body: Buffer, media: MediaAnswer | null = null): MeteredTokens | null {
  return fastUsage(body) ?? fullUsage(body.toString('utf8'), media);
}

function fastUsage(body: Buffer): MeteredTokens | null {
  const start = usageObjectStart(body);
  if (start === -1) return null;
  const end = usageObjectEnd(body, start);
  if (end === -1) return null;
  try {
    return normalizeUsage(JSON.parse(body.toString('utf8', start, end)));
  } catch {
    return null;
  }
}

function fullUsage(text: string, media: MediaAnswer | null): MeteredTokens | null {
  try {
    const body: unknown = JSON.parse(text);
    return (
      normalizeUsage(field(body, 'usage')) ??
      normalizeUsage(field(field(body, 'response'), 'usage')) ??
      (media === null ? null : mediaOfAnswer(body, media))
    );
  } catch {
    return null;
  }
}

const USAGE_KEY = Buffer.from('"usage"');
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Where the `{` of the object after the last `"usage":` is, or -1. The scan works on bytes: every byte of a
 * multi-byte UTF-8 character is >= 0x80, so none is mistaken for JSON's structural characters, and a byte-wise scan
 * (no decoding, no one-character strings) is several times faster than the same scan over the decoded text.
 */
function usageObjectStart(body: Buffer): number {
  const at = body.lastIndexOf(USAGE_KEY);
  // A backslash before it: the quote is escaped, so this is text inside a string, not a key.
  if (at <= 0 || body[at - 1] === BACKSLASH) return -1;
  let i = skipWhitespace(body, at + USAGE_KEY.length);
  if (body[i] !== COLON) return -1;
  i = skipWhitespace(body, i + 1);
  return body[i] === OPEN_BRACE ? i : -1;
}

/** The end (exclusive) of the object that opens at `start`, braces inside strings ignored; -1 when it never closes. */
function usageObjectEnd(body: Buffer, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACE) depth++;
    else if (byte === CLOSE_BRACE && --depth === 0) return i + 1;
  }
  return -1;
}

function skipWhitespace(body: Buffer, from: number): number {
  let i = from;
  for (let byte = body[i]; byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09; byte = body[++i]);
  return i;
}
