import type { FakeKeys } from '../rules/fake-keys.js';

/** One kind of key the corpus plants: the rule that must find it, how to make one, and names it is stored under. */
export interface PlantKind {
  ruleId: string;
  make: (f: FakeKeys) => string;
  /** Environment-variable style name, e.g. MISTRAL_API_KEY. */
  envName: string;
  /** Client class or provider word used in code and config. */
  provider: string;
}

export const PLANT_KINDS: readonly PlantKind[] = [
  { ruleId: 'openai-project-key', make: (f) => f.openaiProject(), envName: 'OPENAI_API_KEY', provider: 'OpenAI' },
  { ruleId: 'openai-service-account-key', make: (f) => f.openaiServiceAccount(), envName: 'OPENAI_API_KEY', provider: 'OpenAI' },
  { ruleId: 'openai-admin-key', make: (f) => f.openaiAdmin(), envName: 'OPENAI_ADMIN_KEY', provider: 'OpenAI' },
  { ruleId: 'openai-legacy-key', make: (f) => f.openaiLegacy(), envName: 'OPENAI_API_KEY', provider: 'OpenAI' },
  { ruleId: 'anthropic-api-key', make: (f) => f.anthropic(), envName: 'ANTHROPIC_API_KEY', provider: 'Anthropic' },
  { ruleId: 'anthropic-admin-key', make: (f) => f.anthropicAdmin(), envName: 'ANTHROPIC_ADMIN_KEY', provider: 'Anthropic' },
  { ruleId: 'google-api-key', make: (f) => f.google(), envName: 'GEMINI_API_KEY', provider: 'Gemini' },
  { ruleId: 'azure-openai-key', make: (f) => f.azure(), envName: 'AZURE_OPENAI_API_KEY', provider: 'AzureOpenAI' },
  { ruleId: 'huggingface-token', make: (f) => f.huggingface(), envName: 'HF_TOKEN', provider: 'HuggingFace' },
  { ruleId: 'huggingface-org-token', make: (f) => f.huggingfaceOrg(), envName: 'HF_ORG_TOKEN', provider: 'HuggingFace' },
  { ruleId: 'groq-api-key', make: (f) => f.groq(), envName: 'GROQ_API_KEY', provider: 'Groq' },
  { ruleId: 'replicate-api-token', make: (f) => f.replicate(), envName: 'REPLICATE_API_TOKEN', provider: 'Replicate' },
  { ruleId: 'openrouter-api-key', make: (f) => f.openrouter(), envName: 'OPENROUTER_API_KEY', provider: 'OpenRouter' },
  { ruleId: 'perplexity-api-key', make: (f) => f.perplexity(), envName: 'PERPLEXITY_API_KEY', provider: 'Perplexity' },
  { ruleId: 'xai-api-key', make: (f) => f.xai(), envName: 'XAI_API_KEY', provider: 'XAI' },
  { ruleId: 'together-api-key', make: (f) => f.together(), envName: 'TOGETHER_API_KEY', provider: 'Together' },
  { ruleId: 'together-legacy-api-key', make: (f) => f.togetherLegacy(), envName: 'TOGETHER_API_KEY', provider: 'Together' },
  { ruleId: 'fireworks-api-key', make: (f) => f.fireworks(), envName: 'FIREWORKS_API_KEY', provider: 'Fireworks' },
  { ruleId: 'nvidia-api-key', make: (f) => f.nvidia(), envName: 'NVIDIA_API_KEY', provider: 'NVIDIA' },
  { ruleId: 'cerebras-api-key', make: (f) => f.cerebras(), envName: 'CEREBRAS_API_KEY', provider: 'Cerebras' },
  { ruleId: 'deepseek-api-key', make: (f) => f.deepseek(), envName: 'DEEPSEEK_API_KEY', provider: 'DeepSeek' },
  { ruleId: 'mistral-api-key', make: (f) => f.mistral(), envName: 'MISTRAL_API_KEY', provider: 'Mistral' },
  { ruleId: 'cohere-api-key', make: (f) => f.cohere(), envName: 'COHERE_API_KEY', provider: 'Cohere' },
  { ruleId: 'keywarden-virtual-key', make: (f) => f.virtualKey(), envName: 'KEYWARDEN_API_KEY', provider: 'Keywarden' },
  { ruleId: 'keywarden-admin-token', make: (f) => f.adminToken(), envName: 'KEYWARDEN_ADMIN_TOKEN', provider: 'Keywarden' },
];

/** Strings that look like keys but are not: placeholders, truncated keys, UUIDs, hashes. None may be reported. */
export function makeDecoy(f: FakeKeys): string {
  const uuid = `${f.hex(8)}-${f.hex(4)}-4${f.hex(3)}-a${f.hex(3)}-${f.hex(12)}`;
  const decoys: Array<() => string> = [
    () => `OPENAI_API_KEY=s${'k-'}proj-${'x'.repeat(f.int(20, 48))}`,
    () => `OPENAI_API_KEY=s${'k-'}your-api-key-here`,
    () => `api_key: "s${'k-'}proj-${f.base62(f.int(4, 12))}..."  # truncated in docs`,
    () => `ANTHROPIC_API_KEY=s${'k-'}ant-api03-${f.base62(8)}…${f.base62(4)}`,
    () => `HF_TOKEN=h${'f_'}${'x'.repeat(34)}`,
    () => `GEMINI_API_KEY=AI${'za'}SyEXAMPLE${f.base62(26)}`,
    () => `GROQ_API_KEY=gs${'k_'}${'0123456789'.repeat(5)}ab`,
    () => `token = "r8${'_'}dummy_${'a'.repeat(31)}"`,
    () => `"requestId": "${uuid}",`,
    () => `  "id": "${uuid}"`,
    () => `sha256: ${f.hex(64)}`,
    () => `commit ${f.hex(40)}`,
    () => `"etag": "${f.hex(32)}",`,
    () => `md5sum ${f.hex(32)}  model.bin`,
    () => `"integrity": "sha512-${Buffer.from(f.hex(64), 'hex').toString('base64')}${Buffer.from(f.hex(64), 'hex').toString('base64')}",`,
    () => `mistral-7b-instruct digest ${f.hex(64)}`,
    () => `azure_blob_md5 = "${f.hex(32)}"`,
    () => `DEEPSEEK_MODEL=deepseek-chat  # request id ${f.hex(32)}`,
    () => `kw_${f.base62(38)}  # not a real virtual key: wrong checksum`,
    () => `kwadm_${f.base62(46)}  # not a real admin token: wrong checksum`,
    () => `xa${'i-'}${f.base62(20)}`,
    () => `export COHERE_MODEL=command-r-plus # build ${f.hex(40)}`,
    () => `the task-proj-${f.base62(40)} branch`,
  ];
  return (decoys[f.int(0, decoys.length - 1)] as () => string)();
}
