/**
 * OpenAI list prices for what is not billed by the token: DALL·E images (per image, by quality and size), the
 * classic speech models (per character of input), whisper-1 (per second of audio, listed per minute) and Sora
 * videos (per second, by size). As of PRICES_AS_OF (openai-prices.ts).
 *
 * Why it matters: these answers carry no `usage` object, so before this table such a request was recorded at
 * $0.00 and nothing flagged it. A stolen key making HD images or hours of speech then showed no spend at all, and
 * spend alerts could not fire.
 */

/** What a request was billed for, read from the request (size, quality, characters) and the answer (counts). */
export interface MediaUsage {
  /** Images delivered. */
  images?: number | undefined;
  /** Characters of text turned into speech. */
  characters?: number | undefined;
  /** Seconds of audio transcribed or translated. */
  audioSeconds?: number | undefined;
  /** Seconds of video made. */
  videoSeconds?: number | undefined;
  /** `1024x1024`, `720x1280`, …: the image's or the video's size, when the request or the answer names one. */
  size?: string | undefined;
  /** `standard` or `hd` (DALL·E 3). */
  quality?: string | undefined;
  /** The model the answer names: a video remix names none in its request, and bills at its original's model. */
  model?: string | undefined;
}

/** USD per image, by quality, then size. The first size of the first quality is the model's default. */
const IMAGE_PRICES: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, number>>>>>> = {
  'dall-e-3': {
    standard: { '1024x1024': 0.04, '1024x1792': 0.08, '1792x1024': 0.08 },
    hd: { '1024x1024': 0.08, '1024x1792': 0.12, '1792x1024': 0.12 },
  },
  'dall-e-2': {
    standard: { '1024x1024': 0.02, '512x512': 0.018, '256x256': 0.016 },
  },
};

/** USD per 1M characters of input. */
const SPEECH_PRICES: Readonly<Record<string, number>> = {
  'tts-1': 15.0,
  'tts-1-hd': 30.0,
};

/** USD per minute of audio, billed by the second. */
const TRANSCRIPTION_PRICES: Readonly<Record<string, number>> = {
  'whisper-1': 0.006,
};

/** USD per second of video, by size; `*` is every other size. */
const VIDEO_PRICES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'sora-2': { '*': 0.1 },
  'sora-2-pro': { '720x1280': 0.3, '1280x720': 0.3, '*': 0.5 },
};

/** Dated snapshots bill like their base model (as in price-table.ts). */
const SNAPSHOT_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

function lookup<T>(table: Readonly<Record<string, T>>, model: string): T | undefined {
  if (Object.hasOwn(table, model)) return table[model];
  const base = model.replace(SNAPSHOT_SUFFIX, '');
  return Object.hasOwn(table, base) ? table[base] : undefined;
}

/**
 * A price of a table row for a named option, or, for an option the table does not list (a size OpenAI added later,
 * a malformed value the upstream accepted anyway), the row's highest: spend is reported high rather than low.
 */
function optionPrice(row: Readonly<Record<string, number>>, option: string | undefined, fallback: string): number {
  const key = option ?? fallback;
  return Object.hasOwn(row, key) ? (row[key] as number) : Math.max(...Object.values(row));
}

function imagePrice(model: string, usage: MediaUsage): number | null {
  const qualities = lookup(IMAGE_PRICES, model);
  if (qualities === undefined) return null;
  const [defaultQuality, defaultRow] = Object.entries(qualities)[0] as [string, Readonly<Record<string, number>>];
  const quality = usage.quality ?? defaultQuality;
  if (!Object.hasOwn(qualities, quality)) return Math.max(...Object.values(qualities).flatMap((row) => Object.values(row)));
  const row = qualities[quality] as Readonly<Record<string, number>>;
  return optionPrice(row, usage.size, Object.keys(defaultRow)[0] as string);
}

/** USD for a media request, or null when the model has no per-unit price here or the usage says nothing billable. */
export function mediaCostOf(model: string, usage: MediaUsage): number | null {
  if (usage.images !== undefined) {
    const price = imagePrice(model, usage);
    return price === null ? null : price * usage.images;
  }
  if (usage.characters !== undefined) {
    const price = lookup(SPEECH_PRICES, model);
    return price === undefined ? null : (price * usage.characters) / 1_000_000;
  }
  if (usage.audioSeconds !== undefined) {
    const price = lookup(TRANSCRIPTION_PRICES, model);
    return price === undefined ? null : (price * usage.audioSeconds) / 60;
  }
  if (usage.videoSeconds !== undefined) {
    const row = lookup(VIDEO_PRICES, model);
    return row === undefined ? null : optionPrice(row, usage.size, '*') * usage.videoSeconds;
  }
  return null;
}
