import type { ProviderId } from '../types.js';

/** How to ask one provider, cheaply and read-only, whether a key works. */
export interface VerifyEndpoint {
  baseUrl: string;
  path: string;
  headers: (secret: string) => Record<string, string>;
}

const bearer = (secret: string): Record<string, string> => ({ authorization: `Bearer ${secret}` });

/**
 * The cheapest read-only call per provider (mostly `GET /models`). Providers whose listing is public, or whose key
 * needs a per-customer endpoint (Azure, keywarden's own gateway), are absent: their findings stay `unknown`
 * unless a base URL is configured for them.
 */
export const VERIFY_ENDPOINTS: Partial<Record<ProviderId, VerifyEndpoint>> = {
  openai: { baseUrl: 'https://api.openai.com', path: '/v1/models', headers: bearer },
  anthropic: {
    baseUrl: 'https://api.anthropic.com',
    path: '/v1/models',
    headers: (secret) => ({ 'x-api-key': secret, 'anthropic-version': '2023-06-01' }),
  },
  google: {
    baseUrl: 'https://generativelanguage.googleapis.com',
    path: '/v1beta/models',
    headers: (secret) => ({ 'x-goog-api-key': secret }),
  },
  huggingface: { baseUrl: 'https://huggingface.co', path: '/api/whoami-v2', headers: bearer },
  groq: { baseUrl: 'https://api.groq.com', path: '/openai/v1/models', headers: bearer },
  replicate: { baseUrl: 'https://api.replicate.com', path: '/v1/account', headers: bearer },
  openrouter: { baseUrl: 'https://openrouter.ai', path: '/api/v1/key', headers: bearer },
  xai: { baseUrl: 'https://api.x.ai', path: '/v1/api-key', headers: bearer },
  together: { baseUrl: 'https://api.together.xyz', path: '/v1/models', headers: bearer },
  fireworks: { baseUrl: 'https://api.fireworks.ai', path: '/inference/v1/models', headers: bearer },
  cerebras: { baseUrl: 'https://api.cerebras.ai', path: '/v1/models', headers: bearer },
  deepseek: { baseUrl: 'https://api.deepseek.com', path: '/models', headers: bearer },
  mistral: { baseUrl: 'https://api.mistral.ai', path: '/v1/models', headers: bearer },
  cohere: { baseUrl: 'https://api.cohere.com', path: '/v1/models', headers: bearer },
  perplexity: { baseUrl: 'https://api.perplexity.ai', path: '/models', headers: bearer },
  'azure-openai': { baseUrl: '', path: '/openai/models?api-version=2024-10-21', headers: (secret) => ({ 'api-key': secret }) },
  keywarden: { baseUrl: '', path: '/v1/models', headers: bearer },
};

/** `KEYWARDEN_VERIFY_URL_OPENAI`, `KEYWARDEN_VERIFY_URL_AZURE_OPENAI`, ...: base URL overrides from the environment. */
export function envBaseUrlName(provider: ProviderId): string {
  return `KEYWARDEN_VERIFY_URL_${provider.toUpperCase().replace(/-/g, '_')}`;
}
