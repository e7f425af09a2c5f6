// The fake upstream's bill: what OpenAI would charge, at list prices, for every request the fake served, from what
// the fake itself received and generated. It is the judge of the budget tests — they assert that this total stays
// within a key's budget, not what the gateway recorded. Counting follows OpenAI's rules, not the gateway's code:
// each message part is tokenized on its own (o200k / cl100k), images by OpenAI's tile rule from their real size,
// token-id arrays at one token per id, and what the gateway cannot see (stored history, fetched files, stored
// prompts, hosted tool calls) at the amounts configured here. A lenient upstream is modelled: `n` is coerced
// ("2" → 2, 1.5 → 2) and every choice is billed.
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import type { Generation } from './fake-openai-generation.js';
import { isObject } from './fake-openai-util.js';

/** USD per 1M tokens, OpenAI's list prices (standard tier) for the models the budget tests use. */
const LIST_PRICES: Readonly<Record<string, { input: number; output: number; audioOutput?: number }>> = {
  // Audio tokens out bill at the audio rate, the rest of the output at the text rate.
  'gpt-4o-audio-preview': { input: 2.5, output: 10, audioOutput: 80 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-3.5-turbo-instruct': { input: 1.5, output: 2 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
};

/**
 * What is billed by the unit, at OpenAI's list prices: DALL·E per image by quality and size, classic speech per 1M
 * characters, Sora per second by size. A size or quality OpenAI does not list is billed as the largest image or
 * video (a lenient upstream makes what it likes).
 */
const IMAGE_LIST_PRICES: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, number>>>>>> = {
  'dall-e-2': { standard: { '256x256': 0.016, '512x512': 0.018, '1024x1024': 0.02 } },
  'dall-e-3': { standard: { '1024x1024': 0.04, '1024x1792': 0.08, '1792x1024': 0.08 }, hd: { '1024x1024': 0.08, '1024x1792': 0.12, '1792x1024': 0.12 } },
};
const SPEECH_LIST_PRICES: Readonly<Record<string, number>> = { 'tts-1': 15, 'tts-1-hd': 30 };
const VIDEO_LIST_PRICES: Readonly<Record<string, (size: string) => number>> = {
  'sora-2': () => 0.1,
  'sora-2-pro': (size) => (size === '720x1280' || size === '1280x720' ? 0.3 : 0.5),
};

/** Tile rule per model: base tokens, tokens per 512px tile. */
const IMAGE_TILES: Readonly<Record<string, { base: number; tile: number }>> = {
  'gpt-4o-mini': { base: 2833, tile: 5667 },
};
const DEFAULT_TILES = { base: 85, tile: 170 };

export interface HiddenCosts {
  /** Tokens of stored history behind a `previous_response_id` or a `conversation`. */
  historyTokens: number;
  /** Tokens of a file input (by id, URL or inline data). */
  fileTokens: number;
  /** Tokens of a stored prompt template (`prompt: {id}` on /responses). */
  promptTemplateTokens: number;
  /** USD per hosted tool call (web search, file search, code interpreter, …); one call per hosted tool. */
  hostedToolCallUsd: number;
}

export interface BillEntry {
  route: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  usd: number;
}

const PLAIN = { disallowedSpecial: new Set<string>() };
const tokens = (model: string, text: string): number =>
  text.length === 0 ? 0 : /^(gpt-3\.5|gpt-4(?!o|\.)|text-embedding)/.test(model) ? cl100k(text, PLAIN) : o200k(text, PLAIN);

/** Width and height of a base64 PNG data URL, or null (not a PNG: OpenAI's worst case is assumed by the caller). */
export function pngSize(url: string): { width: number; height: number } | null {
  const match = /^data:image\/png;base64,(.{32})/.exec(url);
  if (!match?.[1]) return null;
  const head = Buffer.from(match[1], 'base64');
  if (head.length < 24 || head.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
}

/** A minimal PNG header of the given size: enough for the judge (and for OpenAI's size probe). */
export function pngDataUrl(width: number, height: number): string {
  const head = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(head, 0);
  head.writeUInt32BE(13, 8);
  head.write('IHDR', 12, 'latin1');
  head.writeUInt32BE(width, 16);
  head.writeUInt32BE(height, 20);
  head.writeUInt8(8, 24);
  head.writeUInt8(6, 25);
  return `data:image/png;base64,${head.toString('base64')}`;
}

/** OpenAI's image rule: fit in 2048², short side to 768, then 512px tiles. URLs without a size: 2048×2048. */
export function imageTokens(model: string, url: string, detail: unknown): number {
  const rule = IMAGE_TILES[model] ?? DEFAULT_TILES;
  if (detail === 'low') return rule.base;
  let { width, height } = pngSize(url) ?? { width: 2048, height: 2048 };
  const fit = Math.min(1, 2048 / Math.max(width, height));
  width *= fit;
  height *= fit;
  const shorten = Math.min(1, 768 / Math.min(width, height));
  width *= shorten;
  height *= shorten;
  return rule.base + rule.tile * Math.ceil(width / 512) * Math.ceil(height / 512);
}

/** `n` / `best_of` as a lenient upstream reads them. */
function coercedChoices(json: Record<string, unknown>): number {
  const read = (value: unknown): number => {
    const n = Math.ceil(Number(value));
    return Number.isFinite(n) && n > 1 ? Math.min(n, 128) : 1;
  };
  return Math.max(read(json.n), read(json.best_of));
}

export class BillingLedger {
  readonly entries: BillEntry[] = [];
  hidden: HiddenCosts = { historyTokens: 50_000, fileTokens: 100_000, promptTemplateTokens: 20_000, hostedToolCallUsd: 0.03 };

  totalUsd(): number {
    return this.entries.reduce((sum, e) => sum + e.usd, 0);
  }

  reset(): void {
    this.entries.length = 0;
  }

  /** Input tokens OpenAI bills for a generation request (chat, completions, responses). */
  inputTokens(route: string, json: Record<string, unknown>, model: string): number {
    let total = 3;
    const texts = (value: unknown, keys: boolean): void => {
      // Explicit stack: a 100k-deep body must not crash the judge.
      const stack: unknown[] = [value];
      while (stack.length > 0) {
        const item = stack.pop();
        if (typeof item === 'string') total += tokens(model, item);
        else if (typeof item === 'number' || typeof item === 'boolean') total += tokens(model, String(item));
        else if (Array.isArray(item)) for (const inner of item) stack.push(inner);
        else if (isObject(item)) {
          const type = item.type;
          if (type === 'image_url' || type === 'input_image') {
            const image = item.image_url;
            const url = typeof image === 'string' ? image : isObject(image) && typeof image.url === 'string' ? image.url : '';
            total += imageTokens(model, url, item.detail ?? (isObject(image) ? image.detail : undefined));
            continue;
          }
          if (type === 'input_file' || type === 'file') total += this.hidden.fileTokens;
          total += 3;
          for (const [key, inner] of Object.entries(item)) {
            if (keys) total += tokens(model, key);
            stack.push(inner);
          }
        }
      }
    };
    if (route === '/completions') texts(json.prompt, false);
    texts(json.messages, false);
    texts(json.input, false);
    texts(json.instructions, false);
    texts(json.prediction, false);
    // Schemas are rendered into the prompt with their keys.
    texts(json.tools, true);
    texts(json.functions, true);
    texts(json.response_format, true);
    texts(json.text, true);
    if (json.previous_response_id !== undefined && json.previous_response_id !== null) total += this.hidden.historyTokens;
    if (json.conversation !== undefined && json.conversation !== null) total += this.hidden.historyTokens;
    if (route === '/responses' && isObject(json.prompt)) total += this.hidden.promptTemplateTokens;
    return total;
  }

  /** Bills a generation; returns the completion tokens of all choices, as an honest upstream reports them. */
  chargeGeneration(route: string, json: Record<string, unknown>, model: string, inputTokens: number, gen: Generation): number {
    const outputTokens = gen.completionTokens * coercedChoices(json);
    const audioTokens = gen.audioTokens * coercedChoices(json);
    const price = LIST_PRICES[model];
    let usd = price
      ? (inputTokens * price.input + (outputTokens - audioTokens) * price.output + audioTokens * (price.audioOutput ?? price.output)) / 1e6
      : Number.POSITIVE_INFINITY;
    const tools = Array.isArray(json.tools) ? json.tools : [];
    for (const tool of tools) if (!(isObject(tool) && (tool.type === 'function' || tool.type === 'custom'))) usd += this.hidden.hostedToolCallUsd;
    if (json.web_search_options !== undefined) usd += this.hidden.hostedToolCallUsd;
    this.entries.push({ route, model, inputTokens, outputTokens, usd });
    return outputTokens;
  }

  /** Bills `images` DALL·E images (any other model: an unknown price, infinite). */
  chargeImages(model: string, images: number, size: string | undefined, quality: string | undefined): void {
    const qualities = Object.hasOwn(IMAGE_LIST_PRICES, model) ? IMAGE_LIST_PRICES[model] : undefined;
    let each = Number.POSITIVE_INFINITY;
    if (qualities !== undefined) {
      const row = qualities[quality ?? 'standard'];
      const all = Object.values(qualities).flatMap((r) => Object.values(r));
      each = row !== undefined && size !== undefined && row[size] !== undefined ? row[size] : row !== undefined && size === undefined ? (row['1024x1024'] as number) : Math.max(...all);
    }
    this.entries.push({ route: '/images', model, inputTokens: 0, outputTokens: 0, usd: each * images });
  }

  /** Bills speech of `characters` characters. */
  chargeSpeech(model: string, characters: number): void {
    const price = SPEECH_LIST_PRICES[model];
    this.entries.push({ route: '/audio/speech', model, inputTokens: 0, outputTokens: 0, usd: price === undefined ? Number.POSITIVE_INFINITY : (price * characters) / 1e6 });
  }

  /** Bills a video job of `seconds` seconds. */
  chargeVideo(model: string, seconds: number, size: string): void {
    const price = VIDEO_LIST_PRICES[model];
    this.entries.push({ route: '/videos', model, inputTokens: 0, outputTokens: 0, usd: price === undefined ? Number.POSITIVE_INFINITY : price(size) * seconds });
  }

  /** Bills an embeddings request; returns its input tokens. */
  chargeEmbeddings(json: Record<string, unknown>, model: string): number {
    const input = json.input;
    const items = typeof input === 'string' || (Array.isArray(input) && input.every((x) => typeof x === 'number')) ? [input] : Array.isArray(input) ? input : [];
    let inputTokens = 0;
    for (const item of items) inputTokens += typeof item === 'string' ? tokens(model, item) : Array.isArray(item) ? item.length : 0;
    const price = LIST_PRICES[model];
    this.entries.push({ route: '/embeddings', model, inputTokens, outputTokens: 0, usd: price ? (inputTokens * price.input) / 1e6 : Number.POSITIVE_INFINITY });
    return inputTokens;
  }
}
