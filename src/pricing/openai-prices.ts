/**
 * OpenAI list prices in USD per 1M tokens (standard tier), as published on OpenAI's pricing page in mid-2026.
 * `cachedInput` is omitted where OpenAI offers no cached discount, in which case cached tokens bill at `input`.
 * Override or extend through the config's `pricing.overrides`; a model missing here is recorded with cost null.
 */
export interface ModelPrice {
  input: number;
  cachedInput?: number | undefined;
  output: number;
  /**
   * Audio and image tokens, where the model prices them apart from text (audio chat and transcription models, GPT
   * Image). The upstream's usage reports them inside the input and output counts; without these they bill as text.
   */
  audioInput?: number | undefined;
  audioOutput?: number | undefined;
  imageInput?: number | undefined;
  /** Cached audio input, where it has its own rate (the Realtime models); without it cached audio bills at `audioInput`. */
  cachedAudioInput?: number | undefined;
}

export const PRICES_AS_OF = '2026-06';

export const OPENAI_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-5.5': { input: 5.0, cachedInput: 0.5, output: 30.0 },
  'gpt-5.5-pro': { input: 30.0, output: 180.0 },
  'gpt-5.4': { input: 2.5, cachedInput: 0.25, output: 15.0 },
  'gpt-5.4-mini': { input: 0.75, cachedInput: 0.075, output: 4.5 },
  'gpt-5.4-nano': { input: 0.2, cachedInput: 0.02, output: 1.25 },
  'gpt-5.4-pro': { input: 30.0, output: 180.0 },
  'gpt-5.1': { input: 1.25, cachedInput: 0.125, output: 10.0 },
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10.0 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2.0 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-5-pro': { input: 15.0, output: 120.0 },
  'gpt-5-codex': { input: 1.25, cachedInput: 0.125, output: 10.0 },
  'gpt-4.1': { input: 2.0, cachedInput: 0.5, output: 8.0 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10.0 },
  'gpt-4o-2024-05-13': { input: 5.0, output: 15.0 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  'gpt-4-turbo': { input: 10.0, output: 30.0 },
  'gpt-4': { input: 30.0, output: 60.0 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'gpt-3.5-turbo-instruct': { input: 1.5, output: 2.0 },
  o1: { input: 15.0, cachedInput: 7.5, output: 60.0 },
  'o1-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o1-pro': { input: 150.0, output: 600.0 },
  o3: { input: 2.0, cachedInput: 0.5, output: 8.0 },
  'o3-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o3-pro': { input: 20.0, output: 80.0 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
  'codex-mini-latest': { input: 1.5, cachedInput: 0.375, output: 6.0 },
  // GPT Image: text in, image in (the images of an edit), image out.
  'gpt-image-1': { input: 5.0, cachedInput: 1.25, imageInput: 10.0, output: 40.0 },
  'gpt-image-1-mini': { input: 2.0, cachedInput: 0.2, imageInput: 2.5, output: 8.0 },
  // Audio chat models: text at the text rates, audio tokens (in the same counts) at the audio rates.
  'gpt-4o-audio-preview': { input: 2.5, output: 10.0, audioInput: 40.0, audioOutput: 80.0 },
  'gpt-4o-mini-audio-preview': { input: 0.15, output: 0.6, audioInput: 10.0, audioOutput: 20.0 },
  // Transcription by tokens: the audio in, a text prompt in, the transcript out.
  'gpt-4o-transcribe': { input: 2.5, audioInput: 6.0, output: 10.0 },
  'gpt-4o-mini-transcribe': { input: 1.25, audioInput: 3.0, output: 5.0 },
  // Speech by tokens: text in, audio out (usage only on a streamed answer; see gateway/request-cost.ts).
  'gpt-4o-mini-tts': { input: 0.6, output: 12.0 },
  // Realtime sessions (WebSocket, WebRTC): text, audio and image tokens each at their own rate, cached ones too.
  'gpt-realtime': { input: 4.0, cachedInput: 0.4, output: 16.0, audioInput: 32.0, cachedAudioInput: 0.4, audioOutput: 64.0, imageInput: 5.0 },
  'gpt-realtime-mini': { input: 0.6, cachedInput: 0.06, output: 2.4, audioInput: 10.0, cachedAudioInput: 0.3, audioOutput: 20.0, imageInput: 0.8 },
  'gpt-4o-realtime-preview': { input: 5.0, cachedInput: 2.5, output: 20.0, audioInput: 40.0, cachedAudioInput: 2.5, audioOutput: 80.0 },
  'gpt-4o-mini-realtime-preview': { input: 0.6, cachedInput: 0.3, output: 2.4, audioInput: 10.0, cachedAudioInput: 0.3, audioOutput: 20.0 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },
  'omni-moderation-latest': { input: 0, output: 0 },
  'text-moderation-latest': { input: 0, output: 0 },
  'davinci-002': { input: 2.0, output: 2.0 },
  'babbage-002': { input: 0.4, output: 0.4 },
};
