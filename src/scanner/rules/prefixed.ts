import { FakeKeys } from './fake-keys.js';
import { isCamelCaseIdentifier } from './identifiers.js';
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
  validate?: (secret: string) => boolean;
  /** Extra positives for this vendor's variations (characters its keys may hold). */
  positives?: (f: FakeKeys) => string[];
  /** Real-world strings that look like this vendor's keys but are not (identifiers, model names, docs). */
  lookAlikes: string[];
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
    ...(spec.validate === undefined ? {} : { validate: spec.validate }),
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
          ...(spec.positives?.(f) ?? []),
        ],
        negative: [
          `${spec.prefix}${'x'.repeat(body.length)}`,
          `${spec.prefix}${body.slice(0, 8)}`,
          `${spec.prefix}EXAMPLE${body.slice(7)}`,
          `prefix${key}`,
          // Cut short in documentation: the ellipsis right after says the rest is missing.
          `${spec.provider.toUpperCase()}_API_KEY=${key.slice(0, -4)}...`,
          ...spec.lookAlikes,
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
    // Exactly 34 letters. The candidate grows over `_` and `-` too, so `hf_<34 letters>_len` (a C field name) is one
    // longer token and fails the shape instead of being cut to a key.
    body: '[A-Za-z]{34}',
    charset: TOKEN_CHARS,
    validate: (secret) => !isCamelCaseIdentifier(secret.slice(3)),
    make: (f) => f.huggingface(),
    lookAlikes: [
      // Apple HomeKit (Objective-C category methods) and Wireshark header fields, as found in public code.
      '- (id)hf_requiredCharacteristicTypesForDisplayMetadata;',
      'objc_msgSend(a1, "hf_requiredCharacteristicTypesForDisplayMetadataWithServiceType:", v13);',
      '+ (id)hf_allRequiredCharacteristicTypesForStandardServices;',
      '+ (id)hf_sensorCharacteristicTypeForServiceType:(id)type;',
      'static int hf_ieee80211_tag_vendor_specific_oui_type = -1;',
      'amazon.de#@#div[data-cel-widget="desktop-rhf_SponsoredProductsRemoteRHFSearchEXPSubsK2ClickPagination"]',
      // A 34-letter camelCase name: exactly a token's length, still an identifier.
      '- (BOOL)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;',
      `HF_TOKEN=hf_${'abcdEFGH'.repeat(4)}ij`,
    ],
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
    lookAlikes: ['api_org_id = settings.API_ORG_ID', 'def api_org_members_list(request, org_id):', 'GET /api_org_settings/notifications'],
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
    // GTK's scene kit (GSK) functions share the prefix.
    lookAlikes: ['gsk_render_node_get_type ()', 'GskRenderer *gsk_gl_renderer_new (void);', 'gsk_transform_to_2d_components (self, &skew_x, &skew_y, &scale_x, &scale_y);'],
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
    lookAlikes: ['VK_FORMAT_R8_UNORM, r8_unorm_srgb_fallback', 'let r8_lib = "com.android.tools:r8:8.2.42";', 'float r8_uniform_01 ( int *seed );'],
  }),
  prefixed({
    id: 'openrouter-api-key',
    provider: 'openrouter',
    title: 'OpenRouter API key',
    docsUrl: 'https://openrouter.ai/docs/api-reference/authentication',
    prefix: 'sk-or-v1-',
    body: '[a-f0-9]{48,}',
    make: (f) => f.openrouter(),
    lookAlikes: ["OPENROUTER_API_KEY=sk-or-v1-...", "placeholder: 'sk-or-v1-your-key-here'", '`sk-or-v1-` keys are created at openrouter.ai/keys'],
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
    lookAlikes: ['model="pplx-70b-online"', 'llama-3-sonar-large-32k-online (was pplx-70b-chat-alpha-2024-instruct)', 'npm i pplx-api-client-typescript-edition'],
  }),
  prefixed({
    id: 'xai-api-key',
    provider: 'xai',
    title: 'xAI API key',
    docsUrl: 'https://docs.x.ai/docs/overview',
    prefix: 'xai-',
    // xAI keys may hold `-` and `_`; growing over base62 alone reported them cut at the first one.
    body: '[A-Za-z0-9_-]{60,}',
    make: (f) => f.xai(),
    positives: (f) => [`XAI_API_KEY=xa${'i-'}${f.base62(30)}-${f.base62(20)}_${f.base62(29)}`],
    lookAlikes: ['git clone https://github.com/xai-org/grok-1-open-weights-release', 'xai-grok-login-device-code-flow-tests', 'pip install xai-sdk-python-bindings-for-grok-api-v2'],
  }),
  prefixed({
    id: 'together-api-key',
    provider: 'together',
    title: 'Together AI API key',
    docsUrl: 'https://docs.together.ai/reference/authentication-1',
    prefix: 'tgp_v1_',
    body: '[A-Za-z0-9_-]{40,}',
    make: (f) => f.together(),
    lookAlikes: ['TOGETHER_API_KEY=tgp_v1_...', "apiKey: 'tgp_v1_your_together_key'", 'keys now start with tgp_v1_ followed by 43 characters'],
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
    // Linux kernel firmware helpers share the prefix.
    lookAlikes: ['fw_devlink_purge_absent_suppliers(fwnode);', 'static int fw_cfg_sysfs_probe(struct platform_device *pdev)', 'fw_version=fwVersionMajorMinorPatch'],
  }),
  prefixed({
    id: 'nvidia-api-key',
    provider: 'nvidia',
    title: 'NVIDIA API key',
    docsUrl: 'https://docs.api.nvidia.com/nim/reference/authentication',
    prefix: 'nvapi-',
    body: '[A-Za-z0-9_-]{60,}',
    make: (f) => f.nvidia(),
    lookAlikes: ['NVIDIA_API_KEY=nvapi-...', '#include "nvapi-wrapper.h"', "api_key='nvapi-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"],
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
    lookAlikes: ['CEREBRAS_API_KEY=csk-...', 'csk-cluster-manager-deployment-config-v2', 'the csk- prefix marks Cerebras keys'],
  }),
];
