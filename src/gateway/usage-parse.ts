/** Token counts as the gateway records them, whichever OpenAI API produced them. */
export interface MeteredTokens {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
}

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
  if (typeof prompt !== 'number' && typeof completion !== 'number') return null;
  const promptDetails = field(usage, 'prompt_tokens_details') ?? field(usage, 'input_tokens_details');
  const completionDetails = field(usage, 'completion_tokens_details') ?? field(usage, 'output_tokens_details');
  return {
    promptTokens: num(prompt),
    cachedTokens: num(field(promptDetails, 'cached_tokens')),
    completionTokens: num(completion),
    reasoningTokens: num(field(completionDetails, 'reasoning_tokens')),
  };
}

/**
 * Finds the top-level `"usage": {...}` object in a JSON response without parsing the whole body: OpenAI puts it
 * last, and embedding responses can be large. Falls back to a full parse when the fast path is inconclusive.
 */
export function usageFromJsonBody(text: string): MeteredTokens | null {
  const fast = fastUsageSlice(text);
  if (fast !== null) {
    try {
      const parsed = normalizeUsage(JSON.parse(fast));
      if (parsed) return parsed;
    } catch {
      // fall through to the full parse
    }
  }
  try {
    const body: unknown = JSON.parse(text);
    return normalizeUsage(field(body, 'usage')) ?? normalizeUsage(field(field(body, 'response'), 'usage'));
  } catch {
    return null;
  }
}

const USAGE_KEY = Buffer.from('"usage"');

/**
 * usageFromJsonBody for a body kept as bytes (relayed without decoding): only the text from the last `"usage"` on
 * is decoded (from one byte before it, for the same escaped-quote check), so a body is never decoded whole unless
 * the fast path is inconclusive. Same answers as usageFromJsonBody on the decoded body.
 */
export function usageFromJsonBuffer(body: Buffer): MeteredTokens | null {
  const at = body.lastIndexOf(USAGE_KEY);
  if (at > 0) {
    const fast = fastUsageSlice(body.toString('utf8', at - 1));
    if (fast !== null) {
      try {
        const parsed = normalizeUsage(JSON.parse(fast));
        if (parsed) return parsed;
      } catch {
        // fall through to the full parse
      }
    }
  }
  return usageFromJsonBody(body.toString('utf8'));
}

function fastUsageSlice(text: string): string | null {
  const at = text.lastIndexOf('"usage"');
  if (at <= 0 || text.charCodeAt(at - 1) === 92 /* backslash: inside a string */) return null;
  let i = at + 7;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  if (text[i] !== ':') return null;
  i++;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  if (text[i] !== '{') return null;
  const start = i;
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92) i++;
      else if (ch === 34) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123) depth++;
    else if (ch === 125 && --depth === 0) return text.slice(start, i + 1);
  }
  return null;
}
