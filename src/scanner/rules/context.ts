import { FakeKeys } from './fake-keys.js';
import { hasMixedCase, TOKEN_CHARS, type ContextRule, type PrefixRule } from './rule.js';

/**
 * Keys without a vendor prefix. They are reported only when a provider word is near and the token's own line names
 * a key (`key`, `token`, `secret`...), because a bare 32-character string is otherwise just as likely a hash or an id.
 */

/** DeepSeek keys share OpenAI's `sk-` but are 32 hex characters; the word "deepseek" nearby tells them apart. */
export const deepseekApiKey: PrefixRule = {
  kind: 'prefix',
  id: 'deepseek-api-key',
  provider: 'deepseek',
  title: 'DeepSeek API key',
  description: 'DeepSeek API key: grants API access billed to the owner.',
  docsUrl: 'https://api-docs.deepseek.com/',
  anchor: 'sk-',
  prefix: 'sk-',
  charset: TOKEN_CHARS,
  shape: /^sk-[a-f0-9]{32}$/,
  contextWords: ['deepseek'],
  fixtures: () => {
    const f = new FakeKeys(7);
    const key = f.deepseek();
    return {
      positive: [`DEEPSEEK_API_KEY=${key}`, `client = OpenAI(api_key="${key}", base_url="https://api.deepseek.com")`],
      negative: [
        `OTHER_KEY=${key}`,
        `DEEPSEEK_API_KEY=sk-${'0'.repeat(32)}`,
        `DEEPSEEK_API_KEY=${key.slice(0, 20)}`,
        // Hand-typed in a deepseek tutorial: digits and letters counting up in turn.
        'DEEPSEEK_API_KEY=sk-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d',
        `DEEPSEEK_API_KEY=sk-${'abcd1234'.repeat(4)}`,
        `deepseek request ${key.slice(3)} finished (sk-${'f'.repeat(4)})`,
      ],
    };
  },
};

export const mistralApiKey: ContextRule = {
  kind: 'context',
  id: 'mistral-api-key',
  provider: 'mistral',
  title: 'Mistral AI API key',
  description: 'Mistral AI API key (32 characters, recognised by context): grants API access billed to the owner.',
  docsUrl: 'https://docs.mistral.ai/getting-started/quickstart/',
  keywords: ['mistral'],
  tokenChars: /[A-Za-z0-9]/,
  tokenLength: 32,
  validate: hasMixedCase,
  fixtures: () => {
    const f = new FakeKeys(32);
    const key = f.mistral();
    return {
      positive: [
        `MISTRAL_API_KEY=${key}`,
        `client = Mistral(api_key="${key}")`,
        `providers:\n  mistral:\n    api_key: "${key}"\n`,
        // On its own line under its key name: a YAML block scalar, an XML element.
        `mistral:\n  api_key: |\n    ${key}\n`,
        `<Mistral>\n  <ApiKey>\n    ${key}\n  </ApiKey>\n</Mistral>\n`,
      ],
      negative: [
        `MISTRAL_API_KEY=${f.hex(32)}`,
        `API_KEY=${key}`,
        `mistral model digest: ${key}`,
        `MISTRAL_API_KEY=${key}${f.base62(5)}`,
        // Alone on its line but under no key name: a list of ids in a mistral model card.
        `mistral checkpoints:\n  files:\n    ${key}\n`,
        // The key name is too far above (more than two lines).
        `mistral_api_key:\n\n\n\n    ${key}\n`,
        'MISTRAL_API_KEY=1a2b3c4d5e6f7g8h9i0jAbCdEfGhIjKl',
        'model: mistral-large-2407  # auth: open-mixtral-8x22b-instruct',
      ],
    };
  },
};

export const cohereApiKey: ContextRule = {
  kind: 'context',
  id: 'cohere-api-key',
  provider: 'cohere',
  title: 'Cohere API key',
  description: 'Cohere API key (40 characters, recognised by context): grants API access billed to the owner.',
  docsUrl: 'https://docs.cohere.com/reference/about',
  keywords: ['cohere', 'co_api_key'],
  tokenChars: /[A-Za-z0-9]/,
  tokenLength: 40,
  validate: hasMixedCase,
  fixtures: () => {
    const f = new FakeKeys(40);
    const key = f.cohere();
    return {
      positive: [`COHERE_API_KEY=${key}`, `co = cohere.ClientV2(api_key='${key}')`, `CO_API_KEY: ${key}`],
      negative: [
        `COHERE_API_KEY=${f.hex(40)}`,
        `commit ${key} touched cohere.py`,
        `GITHUB_TOKEN=${key}`,
        `COHERE_API_KEY=${'AbCd1234'.repeat(5)}`,
        'co = cohere.ClientV2(api_key=os.environ["CO_API_KEY"])  # model command-r-plus-08-2024',
      ],
    };
  },
};

export const azureOpenaiKey: ContextRule = {
  kind: 'context',
  id: 'azure-openai-key',
  provider: 'azure-openai',
  title: 'Azure OpenAI key',
  description: 'Azure OpenAI resource key (32 hex characters near an Azure endpoint or key name).',
  docsUrl: 'https://learn.microsoft.com/azure/ai-services/openai/reference#authentication',
  keywords: ['azure'],
  tokenChars: /[a-fA-F0-9]/,
  tokenLength: 32,
  // A real key is lower or upper case hex, never mixed; mixed case means some other identifier.
  validate: (secret) => !hasMixedCase(secret),
  // A Key Vault object id ends in a 32-hex version: `https://<vault>.vault.azure.net/secrets/<name>/<version>`.
  notAfter: /\.vault\.azure\.net\/[A-Za-z0-9/_-]*$/i,
  fixtures: () => {
    const f = new FakeKeys(3232);
    const key = f.azure();
    return {
      positive: [
        `AZURE_OPENAI_API_KEY=${key}`,
        `AZURE_OPENAI_ENDPOINT=https://contoso.openai.azure.com/\napi-key: ${key}`,
        `client = AzureOpenAI(api_key="${key}", azure_endpoint="https://x.openai.azure.com")`,
      ],
      negative: [
        `AZURE_OPENAI_API_KEY=${'0'.repeat(32)}`,
        `azure blob etag ${key}`,
        `OPENAI_API_KEY=${key}`,
        `AZURE_SUBSCRIPTION_ID=${f.hex(8)}-${f.hex(4)}-${f.hex(4)}-${f.hex(4)}-${f.hex(12)}`,
        // Key Vault secret and key versions, as in Azure Event Grid samples and app settings.
        `"Id":"https://sample-kv.vault.azure.net/secrets/newsecret/${key}",`,
        `AZURE_OPENAI_API_KEY=@Microsoft.KeyVault(SecretUri=https://kv-prod.vault.azure.net/secrets/openai-key/${key})`,
        `"kid": "https://contoso.vault.azure.net/keys/azure-openai-cmk/${key}"`,
        // Hand-typed in docs.
        'AZURE_OPENAI_API_KEY=1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d',
      ],
    };
  },
};

/** Together's older keys are 64 hex characters; newer ones carry `tgp_v1_` (see prefixed.ts). */
export const togetherLegacyKey: ContextRule = {
  kind: 'context',
  id: 'together-legacy-api-key',
  provider: 'together',
  title: 'Together AI API key (legacy)',
  description: 'Together AI API key in the older 64-hex format, recognised by context.',
  docsUrl: 'https://docs.together.ai/reference/authentication-1',
  keywords: ['together'],
  tokenChars: /[a-f0-9]/,
  tokenLength: 64,
  fixtures: () => {
    const f = new FakeKeys(6464);
    const key = f.togetherLegacy();
    return {
      positive: [`TOGETHER_API_KEY=${key}`, `together.Together(api_key="${key}")`],
      negative: [
        `TOGETHER_API_KEY=${'ab'.repeat(32)}`,
        `sha256 ${key} of together.tar.gz`,
        `KEY=${key}`,
        `TOGETHER_API_KEY=${'0123abcd'.repeat(8)}`,
        `"together-python" sha256=${key}`,
      ],
    };
  },
};

export const CONTEXT_RULES = [deepseekApiKey, mistralApiKey, cohereApiKey, azureOpenaiKey, togetherLegacyKey];
