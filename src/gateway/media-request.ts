import { isGroup } from '../policy/endpoint-groups.js';
import type { MediaUsage } from '../pricing/media-prices.js';
import type { MultipartFields } from './multipart-model.js';
import type { MediaAnswer } from './usage-parse.js';

/**
 * A request to an endpoint that bills by the unit or by the kind of token (images, speech, transcription, videos):
 * what the request itself says about its price, and where the answer's part is read. Any other request is null, and
 * its price comes from token usage alone.
 */
export interface MediaRequest {
  /** The answer whose units are counted (DALL·E images, a video job); null where the answer has usage, or nothing. */
  answer: MediaAnswer | null;
  /**
   * What the request asks for: images (`n`, default 1), size, quality, characters of speech, seconds of video
   * (default 4). A budget reserves its price from these before anything is forwarded.
   */
  usage: MediaUsage;
  /**
   * A count the request gives in a form a lenient upstream would coerce (`"n": "3"`, `"seconds": 8.5`): a budget
   * cannot price it, so a budgeted key is refused with a 400 naming it. Null when the counts are well formed.
   */
  invalidParam: string | null;
}

// Case-insensitive and with an optional trailing slash, as a lenient upstream routes (and bills) them.
const IMAGE_CREATION = /^\/v1\/images\/(generations|edits|variations)\/?$/i;
const SPEECH = /^\/v1\/audio\/speech\/?$/i;
const TRANSCRIPTION = /^\/v1\/audio\/(transcriptions|translations)\/?$/i;
/** A video creation or a remix, each a new video job; reading or listing videos bills nothing. */
const VIDEO_CREATION = /^\/v1\/videos(\/[^/]+\/remix)?\/?$/i;

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A count as OpenAI documents it: a positive integer, in JSON or as a form field's digits. */
const DIGITS = /^[1-9][0-9]{0,5}$/;
type Count = { value: number } | { invalid: true };

/**
 * `absent` when the request leaves the count to its default; else the count, or invalid. `digits`: the count may be
 * a string of digits (a form field; a video's `seconds`, which OpenAI types as a string); else only a JSON number is.
 */
function countOf(value: unknown, absent: number, digits: boolean): Count {
  if (value === undefined || value === null) return { value: absent };
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return { value };
  if (digits && typeof value === 'string' && DIGITS.test(value)) return { value: Number(value) };
  return { invalid: true };
}

/** OpenAI's default length of a video, in seconds. */
const DEFAULT_VIDEO_SECONDS = 4;

/** Only for a POST in the images, audio or videos groups; everything else answers null after a comparison or two. */
export function mediaRequestOf(
  method: string,
  group: string,
  path: string,
  json: Record<string, unknown> | null,
  form: MultipartFields | undefined,
): MediaRequest | null {
  if (method !== 'POST') return null;
  const field = (name: string): unknown => (json !== null ? json[name] : form?.get(name));
  if (isGroup(group, 'images')) {
    if (!IMAGE_CREATION.test(path)) return null;
    const n = countOf(field('n'), 1, json === null);
    return {
      answer: 'images',
      usage: { images: 'value' in n ? n.value : undefined, size: text(field('size')), quality: text(field('quality')) },
      invalidParam: 'value' in n ? null : 'n',
    };
  }
  if (isGroup(group, 'audio')) {
    // Speech bills the characters of its input (the classic models) or its tokens (gpt-4o-mini-tts, whose usage
    // only a streamed answer reports); the answer is the audio itself.
    if (SPEECH.test(path)) return { answer: null, usage: { characters: typeof json?.input === 'string' ? [...json.input].length : undefined }, invalidParam: null };
    // Transcriptions report their usage (whisper-1 in seconds, the others in tokens); the length of the audio is
    // not known before it is decoded, so a budget cannot price one beforehand.
    if (TRANSCRIPTION.test(path)) return { answer: null, usage: {}, invalidParam: null };
    return null;
  }
  if (!isGroup(group, 'videos')) return null;
  const creation = VIDEO_CREATION.exec(path);
  if (creation === null) return null;
  // A remix takes its original's length and size, which its request does not name: priced from the answer only.
  if (creation[1] !== undefined) return { answer: 'video', usage: {}, invalidParam: null };
  const seconds = countOf(field('seconds'), DEFAULT_VIDEO_SECONDS, true);
  return {
    answer: 'video',
    usage: { videoSeconds: 'value' in seconds ? seconds.value : undefined, size: text(field('size')) },
    invalidParam: 'value' in seconds ? null : 'seconds',
  };
}
