import { FakeKeys } from './fake-keys.js';
import { BASE62_CHARS, TOKEN_CHARS, type PrefixRule } from './rule.js';
import type { ProviderId } from '../types.js';

interface PrefixedSpec {
  id: string;
  provider: ProviderId;
  title: string;
  docsUrl: string;
  prefix: string;
  /** Pattern source of the body after the prefix; minimum lengths only, so new widths are still caught. */
  body: string;
  charset?: RegExp;
  make: (f: FakeKeys) => string;
}

/** Vendor tokens whose prefix alone identifies them. One factory keeps their fixtures uniform. */
function prefixed(spec: PrefixedSpec): PrefixRule {
  return {
    kind: 'prefix',
    id: spec.id,
    provider: spec.provider,
    title: spec.title,
    description: `${spec.title}: grants API access billed to the owner's ${spec.provider} account.`,
    docsUrl: spec.docsUrl,
    anchor: spec.prefix,
    prefix: spec.prefix,
    charset: spec.charset ?? TOKEN_CHARS,
    shape: new RegExp(`^${spec.prefix}${spec.body}$`),
    fixtures: () => {
      const f = new FakeKeys(spec.id.length * 31 + spec.prefix.length);
      const key = spec.make(f);
      const body = key.slice(spec.prefix.length);
      return {
        positive: [
          `${spec.provider.toUpperCase()}_API_KEY=${key}`,
          `api_key: "${key}"`,
          `https://api.example.com/?token=${key}&x=1`,
          `login(${key}, other)`,
          `"${key}",`,
        ],
        negative: [
          `${spec.prefix}${'x'.repeat(body.length)}`,
          `${spec.prefix}${body.slice(0, 8)}`,
          `${spec.prefix}EXAMPLE${body.slice(7)}`,
          `prefix${key}`,
        ],
      };
    },
  };
}

export const PREFIXED_RULES: PrefixRule[] = [
  prefixed({
    id: 'huggingface-token',
    provider: 'huggingface',
    title: 'Hugging Face access token',
    docsUrl: 'https://huggingface.co/docs/hub/security-tokens',
    prefix: 'hf_',
    body: '[A-Za-z0-9]{30,}',
    charset: BASE62_CHARS,
    make: (f) => f.huggingface(),
  }),
  prefixed({
    id: 'huggingface-org-token',
    provider: 'huggingface',
    title: 'Hugging Face organization token',
    docsUrl: 'https://huggingface.co/docs/hub/security-tokens',
    prefix: 'api_org_',
    body: '[A-Za-z0-9]{30,}',
    charset: BASE62_CHARS,
    make: (f) => f.huggingfaceOrg(),
  }),
  prefixed({
    id: 'groq-api-key',
    provider: 'groq',
    title: 'Groq API key',
    docsUrl: 'https://console.groq.com/docs/quickstart',
    prefix: 'gsk_',
    body: '[A-Za-z0-9]{48,}',
    charset: BASE62_CHARS,
    make: (f) => f.groq(),
  }),
  prefixed({
    id: 'replicate-api-token',
    provider: 'replicate',
    title: 'Replicate API token',
    docsUrl: 'https://replicate.com/docs/reference/http#authentication',
    prefix: 'r8_',
    body: '[A-Za-z0-9]{32,}',
    charset: BASE62_CHARS,
    make: (f) => f.replicate(),
  }),
  prefixed({
    id: 'openrouter-api-key',
    provider: 'openrouter',
    title: 'OpenRouter API key',
    docsUrl: 'https://openrouter.ai/docs/api-reference/authentication',
    prefix: 'sk-or-v1-',
    body: '[a-f0-9]{48,}',
    make: (f) => f.openrouter(),
  }),
  prefixed({
    id: 'perplexity-api-key',
    provider: 'perplexity',
    title: 'Perplexity API key',
    docsUrl: 'https://docs.perplexity.ai/guides/getting-started',
    prefix: 'pplx-',
    body: '[A-Za-z0-9]{40,}',
    charset: BASE62_CHARS,
    make: (f) => f.perplexity(),
  }),
  prefixed({
    id: 'xai-api-key',
    provider: 'xai',
    title: 'xAI API key',
    docsUrl: 'https://docs.x.ai/docs/overview',
    prefix: 'xai-',
    body: '[A-Za-z0-9]{60,}',
    charset: BASE62_CHARS,
    make: (f) => f.xai(),
  }),
  prefixed({
    id: 'together-api-key',
    provider: 'together',
    title: 'Together AI API key',
    docsUrl: 'https://docs.together.ai/reference/authentication-1',
    prefix: 'tgp_v1_',
    body: '[A-Za-z0-9_-]{40,}',
    make: (f) => f.together(),
  }),
  prefixed({
    id: 'fireworks-api-key',
    provider: 'fireworks',
    title: 'Fireworks AI API key',
    docsUrl: 'https://docs.fireworks.ai/api-reference/introduction',
    prefix: 'fw_',
    body: '[A-Za-z0-9]{20,}',
    charset: BASE62_CHARS,
    make: (f) => f.fireworks(),
  }),
  prefixed({
    id: 'nvidia-api-key',
    provider: 'nvidia',
    title: 'NVIDIA API key',
    docsUrl: 'https://docs.api.nvidia.com/nim/reference/authentication',
    prefix: 'nvapi-',
    body: '[A-Za-z0-9_-]{60,}',
    make: (f) => f.nvidia(),
  }),
  prefixed({
    id: 'cerebras-api-key',
    provider: 'cerebras',
    title: 'Cerebras API key',
    docsUrl: 'https://inference-docs.cerebras.ai/quickstart',
    prefix: 'csk-',
    body: '[A-Za-z0-9]{40,}',
    charset: BASE62_CHARS,
    make: (f) => f.cerebras(),
  }),
];
