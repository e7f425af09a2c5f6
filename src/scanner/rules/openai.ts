import { FakeKeys } from './fake-keys.js';
import { TOKEN_CHARS, type PrefixRule } from './rule.js';

const DOCS = 'https://platform.openai.com/docs/api-reference/authentication';

/**
 * OpenAI keys vary in length between generations, so shapes give minimums, never one width. The engine grows the
 * candidate over TOKEN_CHARS, which is what lets `&`, `)`, `,` or `;` right after the key end it cleanly.
 */
interface OpenaiSpec {
  /** Body after the prefix; by default a minimum length only, so new widths are still caught. */
  body?: string;
  lookAlikes: string[];
}

function openaiRule(id: string, title: string, prefix: string, make: (f: FakeKeys) => string, spec: OpenaiSpec): PrefixRule {
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
    shape: new RegExp(`^${prefix}${spec.body ?? '[A-Za-z0-9_-]{32,}'}$`),
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
          // Truncated in docs after 40 characters: long enough for the shape, but the ellipsis says it is cut.
          `OPENAI_API_KEY=${prefix}${key.slice(prefix.length, prefix.length + 40)}...`,
          `OPENAI_API_KEY=${prefix}${key.slice(prefix.length, prefix.length + 40)}\u2026`,
          ...spec.lookAlikes,
        ],
      };
    },
  };
}

export const openaiProjectKey = openaiRule('openai-project-key', 'OpenAI project key', 'sk-proj-', (f) => f.openaiProject(), {
  lookAlikes: [
    "placeholder: 'sk-proj-key...'",
    'paste your active API key when prompted (e.g., `sk-proj-...` for OpenAI)',
    'git checkout feature/task-proj-settings-dialog-component-v2',
  ],
});
export const openaiServiceAccountKey = openaiRule(
  'openai-service-account-key',
  'OpenAI service account key',
  'sk-svcacct-',
  (f) => f.openaiServiceAccount(),
  {
    lookAlikes: [
      '("sk-svcacct-", "openai"),',
      'OPENAI_API_KEY=sk-svcacct-...',
      'desk-svcacct-provisioning-runbook-for-new-team-members',
    ],
  },
);
/** Admin keys carry the `T3BlbkFJ` marker between two runs of 58 or 74 characters; anything else is not one. */
const ADMIN_HALF = '(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})';
export const openaiAdminKey = openaiRule('openai-admin-key', 'OpenAI admin key', 'sk-admin-', (f) => f.openaiAdmin(), {
  body: `${ADMIN_HALF}T3BlbkFJ${ADMIN_HALF}`,
  lookAlikes: [
    // Test fixtures and local gateway keys seen in public code: no marker, wrong length.
    'monkeypatch.setenv("IF_ADMIN_KEYS", "sk-admin-key-67890")',
    'set -gx LITELLM_KEY "sk-admin-team-stack-2026-internal-gateway-key-rotation"',
    `const token = localStorage.getItem("sk-admin-token-${'a1B2c3D4e5'.repeat(3)}");`,
    `OPENAI_ADMIN_KEY=sk-admin-${'Zq8Rw3LmT0pVy7Kd2Hs9Nf4Bx1Cj6Ga5'.repeat(3)}`,
    `OPENAI_ADMIN_KEY=sk-admin-${'Zq8Rw3LmT0pVy7Kd2Hs9'.repeat(3)}T3BlbkFJ${'Zq8Rw3LmT0pVy7Kd2Hs9'.repeat(3)}`,
  ],
});

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
        // Real-world `sk-` words: scikit-learn, the Slovak locale, skeleton CSS classes, task branch names.
        'pip install sk-learn-tutorial-for-beginners',
        'locales: [en-US, sk-SK, cs-CZ]',
        '<div class="sk-circle-bounce-delay-animation-wrapper"></div>',
        `openai.api_key = "${key.slice(0, 30)}..."`,
      ],
    };
  },
};

export const OPENAI_RULES = [openaiProjectKey, openaiServiceAccountKey, openaiAdminKey, openaiLegacyKey];
