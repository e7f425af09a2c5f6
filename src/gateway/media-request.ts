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
  /** Size, quality and characters of speech, as the request names them. */
  usage: MediaUsage;
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

/** Only for a POST in the images, audio or videos groups; everything else answers null after a comparison or two. */
export function mediaRequestOf(
  method: string,
  group: string,
  path: string,
  json: Record<string, unknown> | null,
  form: MultipartFields | undefined,
): MediaRequest | null {
  if (method !== 'POST') return null;
  if (isGroup(group, 'images')) {
    if (!IMAGE_CREATION.test(path)) return null;
    return { answer: 'images', usage: { size: text(json?.size ?? form?.get('size')), quality: text(json?.quality ?? form?.get('quality')) } };
  }
  if (isGroup(group, 'audio')) {
    // Speech bills the characters of its input (the classic models) or its tokens (gpt-4o-mini-tts, whose usage
    // only a streamed answer reports); the answer is the audio itself.
    if (SPEECH.test(path)) return { answer: null, usage: { characters: typeof json?.input === 'string' ? [...json.input].length : undefined } };
    // Transcriptions report their usage (whisper-1 in seconds, the others in tokens).
    if (TRANSCRIPTION.test(path)) return { answer: null, usage: {} };
    return null;
  }
  if (isGroup(group, 'videos') && VIDEO_CREATION.test(path)) return { answer: 'video', usage: {} };
  return null;
}
