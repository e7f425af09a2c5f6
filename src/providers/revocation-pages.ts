/** Where a person revokes a key of each provider keywarden's scanner knows (for keys it cannot revoke itself). */
export const REVOCATION_PAGES: Readonly<Record<string, string>> = {
  openai: 'https://platform.openai.com/api-keys',
  anthropic: 'https://console.anthropic.com/settings/keys',
  google: 'https://aistudio.google.com/app/apikey',
  'azure-openai': 'https://portal.azure.com/#view/Microsoft_Azure_ProjectOxford/CognitiveServicesHub/~/OpenAI',
  cohere: 'https://dashboard.cohere.com/api-keys',
  deepseek: 'https://platform.deepseek.com/api_keys',
  fireworks: 'https://fireworks.ai/account/api-keys',
  groq: 'https://console.groq.com/keys',
  huggingface: 'https://huggingface.co/settings/tokens',
  mistral: 'https://console.mistral.ai/api-keys',
  nvidia: 'https://org.ngc.nvidia.com/setup/api-keys',
  openrouter: 'https://openrouter.ai/settings/keys',
  perplexity: 'https://www.perplexity.ai/settings/api',
  replicate: 'https://replicate.com/account/api-tokens',
  together: 'https://api.together.ai/settings/api-keys',
  xai: 'https://console.x.ai/',
  cerebras: 'https://cloud.cerebras.ai/',
};

/** The provider a leaked secret belongs to, from its prefix, when the caller did not say. */
export function providerOfSecret(secret: string): string {
  if (secret.startsWith('kw_')) return 'keywarden';
  if (secret.startsWith('sk-ant-')) return 'anthropic';
  if (secret.startsWith('sk-or-')) return 'openrouter';
  if (secret.startsWith('sk-')) return 'openai';
  if (secret.startsWith('AIza')) return 'google';
  if (secret.startsWith('gsk_')) return 'groq';
  if (secret.startsWith('xai-')) return 'xai';
  if (secret.startsWith('hf_')) return 'huggingface';
  if (secret.startsWith('r8_')) return 'replicate';
  if (secret.startsWith('pplx-')) return 'perplexity';
  if (secret.startsWith('nvapi-')) return 'nvidia';
  return 'unknown';
}
