import { FakeKeys } from './fake-keys.js';
import { TOKEN_CHARS, type PrefixRule } from './rule.js';

const DOCS = 'https://platform.openai.com/docs/api-reference/authentication';

/**
 * OpenAI keys vary in length between generations, so shapes give minimums, never one width. The engine grows the
 * candidate over TOKEN_CHARS, which is what lets `&`, `)`, `,` or `;` right after the key end it cleanly.
 */
function openaiRule(id: string, title: string, prefix: string, make: (f: FakeKeys) => string): PrefixRule {
  return {
    kind: 'prefix',
    id,
    provider: 'openai',
    title,
    description: `${title}: grants API access billed to the owning OpenAI organization.`,
    docsUrl: DOCS,
    anchor: 'sk-',
    prefix,
    charset: TOKEN_CHARS,
    shape: new RegExp(`^${prefix}[A-Za-z0-9_-]{32,}$`),
    fixtures: () => {
      const f = new FakeKeys(id.length * 7919);
      const key = make(f);
      return {
        positive: [
          `OPENAI_API_KEY=${key}`,
          `client = OpenAI(api_key="${key}")`,
          `https://proxy.example.com/v1?key=${key}&model=gpt-4o`,
          `call(${key}), next`,
          `const k = '${key}';`,
          key,
        ],
        negative: [
          `OPENAI_API_KEY=${prefix}${'x'.repeat(48)}`,
          `OPENAI_API_KEY=${prefix}your-api-key-here-your-api-key-here`,
          `truncated: ${prefix}${key.slice(prefix.length, prefix.length + 12)}...`,
          `ta${key}`,
        ],
      };
    },
  };
}

export const openaiProjectKey = openaiRule('openai-project-key', 'OpenAI project key', 'sk-proj-', (f) =>
  f.openaiProject(),
);
export const openaiServiceAccountKey = openaiRule(
  'openai-service-account-key',
  'OpenAI service account key',
  'sk-svcacct-',
  (f) => f.openaiServiceAccount(),
);
export const openaiAdminKey = openaiRule('openai-admin-key', 'OpenAI admin key', 'sk-admin-', (f) => f.openaiAdmin());

/** Legacy user keys: `sk-` + base62 with the `T3BlbkFJ` marker (base64 of "OpenAI") in the middle. */
export const openaiLegacyKey: PrefixRule = {
  kind: 'prefix',
  id: 'openai-legacy-key',
  provider: 'openai',
  title: 'OpenAI API key (legacy)',
  description: 'OpenAI user API key in the legacy format; grants API access billed to the owner.',
  docsUrl: DOCS,
  anchor: 'sk-',
  prefix: 'sk-',
  charset: TOKEN_CHARS,
  // Other vendors and newer OpenAI formats own their sub-prefixes, even when their own rule is disabled.
  shape: /^sk-(?!proj-|svcacct-|admin-|ant-|or-v1-)(?:None-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}$/,
  fixtures: () => {
    const f = new FakeKeys(11);
    const key = f.openaiLegacy();
    return {
      positive: [`openai.api_key = "${key}"`, `curl -H "Authorization: Bearer ${key}"`, `[${key}]`, `${key};`],
      negative: [
        `sk-${f.base62(48)}`,
        `sk-${'a'.repeat(20)}T3BlbkFJ${'a'.repeat(20)}`,
        `${key.slice(0, 20)}`,
      ],
    };
  },
};

export const OPENAI_RULES = [openaiProjectKey, openaiServiceAccountKey, openaiAdminKey, openaiLegacyKey];
