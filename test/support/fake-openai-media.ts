// Images and audio: the endpoints whose bodies are not chat JSON (multipart uploads in, base64 or binary
// out), where gateways most often break content types or buffering.
import { invalidRequest } from './fake-openai-errors.js';
import type { HandlerContext, Reply } from './fake-openai-types.js';
import { hash32, int, nowSeconds, str, textTokens } from './fake-openai-util.js';

/** A valid 1×1 PNG, small enough to send thousands of times. */
export const FAKE_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
export const FAKE_PNG = Buffer.from(FAKE_PNG_BASE64, 'base64');
/** Served by the fake itself, so `url` images never point at the network. */
export const FAKE_IMAGE_PATH = '/fake-assets/image.png';

const json = (value: unknown): Reply => ({ kind: 'json', status: 200, body: JSON.stringify(value) });

function imagesReply(ctx: HandlerContext, fields: Record<string, unknown>, prompt: string): Reply {
  const model = str(fields.model) ?? ctx.deployment ?? 'dall-e-2';
  const n = int(fields.n) ?? (typeof fields.n === 'string' ? Number.parseInt(fields.n, 10) : 1);
  const gptImage = model.startsWith('gpt-image');
  // gpt-image models always answer base64 and report token usage; DALL·E defaults to URLs.
  const asBase64 = gptImage || fields.response_format === 'b64_json';
  const data = Array.from({ length: Math.max(1, n) }, () => {
    const image: Record<string, unknown> = asBase64 ? { b64_json: FAKE_PNG_BASE64 } : { url: `${ctx.origin}${FAKE_IMAGE_PATH}` };
    if (model === 'dall-e-3') image.revised_prompt = `A faithful rendering of: ${prompt}`;
    return image;
  });
  const body: Record<string, unknown> = { created: nowSeconds(), data };
  if (!gptImage) ctx.billing?.chargeImages(model, data.length, str(fields.size), str(fields.quality));
  if (gptImage) {
    const textIn = textTokens(prompt);
    const imageOut = 1056 * data.length;
    body.background = 'opaque';
    body.output_format = 'png';
    body.quality = 'medium';
    body.size = '1024x1024';
    body.usage = {
      input_tokens: textIn,
      input_tokens_details: { text_tokens: textIn, image_tokens: 0 },
      output_tokens: imageOut,
      total_tokens: textIn + imageOut,
    };
  }
  return json(body);
}

export function imageGenerations(ctx: HandlerContext): Reply {
  const prompt = str(ctx.json.prompt);
  if (prompt === undefined) return invalidRequest("Missing required parameter: 'prompt'.", 'prompt');
  return imagesReply(ctx, ctx.json, prompt);
}

export function imageEdits(ctx: HandlerContext): Reply {
  const form = ctx.multipart;
  if (form === undefined) return invalidRequest('Expected a multipart/form-data body.');
  if (!form.files.some((f) => f.field === 'image' || f.field === 'image[]')) {
    return invalidRequest("Missing required parameter: 'image'.", 'image');
  }
  const prompt = form.fields.prompt;
  if (prompt === undefined) return invalidRequest("Missing required parameter: 'prompt'.", 'prompt');
  return imagesReply(ctx, form.fields, prompt);
}

/** Deterministic fake MP3 bytes for a speech input: an ID3 tag, an MPEG frame header, then filler. */
export function fakeSpeechAudio(input: string): Buffer {
  const header = Buffer.from([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, 0, 0xff, 0xfb, 0x90, 0x64]);
  const filler = Buffer.alloc(256 + input.length * 16);
  let x = hash32(input) || 1;
  for (let i = 0; i < filler.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    filler[i] = x >>> 24;
  }
  return Buffer.concat([header, filler]);
}

const SPEECH_TYPES: Readonly<Record<string, string>> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm',
};

export function speech(ctx: HandlerContext): Reply {
  const input = str(ctx.json.input);
  if (input === undefined) return invalidRequest("Missing required parameter: 'input'.", 'input');
  if (str(ctx.json.voice) === undefined) return invalidRequest("Missing required parameter: 'voice'.", 'voice');
  const contentType = SPEECH_TYPES[str(ctx.json.response_format) ?? 'mp3'] ?? 'audio/mpeg';
  ctx.billing?.chargeSpeech(str(ctx.json.model) ?? ctx.deployment ?? '', [...input].length);
  return { kind: 'bytes', status: 200, contentType, body: fakeSpeechAudio(input) };
}

export function fakeTranscriptText(filename: string, bytes: number): string {
  return `Fake transcription of ${filename} (${bytes} bytes).`;
}

/** POST /audio/transcriptions and /audio/translations. */
export function transcriptions(ctx: HandlerContext): Reply {
  const form = ctx.multipart;
  if (form === undefined) return invalidRequest('Expected a multipart/form-data body.');
  const file = form.files.find((f) => f.field === 'file');
  if (file === undefined) return invalidRequest("Missing required parameter: 'file'.", 'file');
  const model = form.fields.model ?? ctx.deployment;
  if (model === undefined) return invalidRequest("Missing required parameter: 'model'.", 'model');
  const text = fakeTranscriptText(file.filename, file.data.length);
  const seconds = Math.max(1, Math.ceil(file.data.length / 16000));
  const format = form.fields.response_format ?? 'json';
  if (format === 'text' || format === 'srt' || format === 'vtt') {
    return { kind: 'bytes', status: 200, contentType: 'text/plain; charset=utf-8', body: `${text}\n` };
  }
  // whisper-1 bills by duration; the gpt-4o transcribe models bill by tokens.
  const outputTokens = textTokens(text);
  const audioTokens = seconds * 10;
  const usage = model.startsWith('whisper')
    ? { type: 'duration', seconds }
    : {
        type: 'tokens',
        input_tokens: audioTokens,
        input_token_details: { text_tokens: 0, audio_tokens: audioTokens },
        output_tokens: outputTokens,
        total_tokens: audioTokens + outputTokens,
      };
  if (format === 'verbose_json') {
    return json({ task: 'transcribe', language: 'english', duration: seconds, text, segments: [], usage });
  }
  return json({ text, usage });
}
