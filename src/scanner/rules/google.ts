import { FakeKeys } from './fake-keys.js';
import { TOKEN_CHARS, type PrefixRule } from './rule.js';

/**
 * Google API keys (Gemini / AI Studio / Vertex express) are exactly 39 characters. A longer run that starts with
 * `AIza` is part of something else (usually a base64 blob), so the shape is exact here on purpose.
 */
export const googleApiKey: PrefixRule = {
  kind: 'prefix',
  id: 'google-api-key',
  provider: 'google',
  title: 'Google AI (Gemini) API key',
  description: 'Google API key, as used by Gemini and AI Studio; may also grant other Google Cloud APIs.',
  docsUrl: 'https://ai.google.dev/gemini-api/docs/api-key',
  anchor: 'AIza',
  prefix: 'AIza',
  charset: TOKEN_CHARS,
  shape: /^AIza[A-Za-z0-9_-]{35}$/,
  fixtures: () => {
    const f = new FakeKeys(39);
    const key = f.google();
    return {
      positive: [
        `GEMINI_API_KEY=${key}`,
        `genai.configure(api_key="${key}")`,
        `https://generativelanguage.googleapis.com/v1beta/models?key=${key}&alt=json`,
        `{"apiKey":"${key}"}`,
      ],
      negative: [
        `GEMINI_API_KEY=${key.slice(0, 30)}`,
        `AIza${'x'.repeat(35)}`,
        `${key}${f.base62(20)}`,
        'GOOGLE_API_KEY=AIzaSy...',
        `GEMINI_API_KEY=${key.slice(0, 24)}...`,
        "apiKey: 'AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',",
      ],
    };
  },
};
