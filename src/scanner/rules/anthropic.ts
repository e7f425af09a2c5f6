import { FakeKeys } from './fake-keys.js';
import { TOKEN_CHARS, type PrefixRule } from './rule.js';

/**
 * Anthropic numbers its key formats (`api03`, `admin01`) and may issue new versions: the rule's static prefix ends
 * before the version digits, and the shape accepts any two-digit version.
 */
function anthropicRule(
  id: string,
  title: string,
  family: string,
  make: (f: FakeKeys) => string,
  lookAlikes: string[],
): PrefixRule {
  const prefix = `sk-ant-${family}`;
  return {
    kind: 'prefix',
    id,
    provider: 'anthropic',
    title,
    description: `${title}: grants access to the Anthropic API for the owning organization.`,
    docsUrl: 'https://docs.anthropic.com/en/api/overview#authentication',
    anchor: 'sk-',
    prefix,
    charset: TOKEN_CHARS,
    shape: new RegExp(`^${prefix}[0-9]{2}-[A-Za-z0-9_-]{80,}$`),
    fixtures: () => {
      const f = new FakeKeys(id.length * 104_729);
      const key = make(f);
      const versioned = (version: string): string => key.replace(/^(sk-ant-[a-z]+)[0-9]{2}-/, `$1${version}-`);
      // The full versioned prefix of the generated key (`sk-ant-api03-`).
      const full = /^sk-ant-[a-z]+[0-9]{2}-/.exec(key)?.[0] ?? prefix;
      return {
        positive: [
          `ANTHROPIC_API_KEY="${key}"`,
          `headers: { 'x-api-key': '${key}' }`,
          `anthropic:\n  key: ${key}\n`,
          `fn(${key})`,
          `ANTHROPIC_API_KEY=${versioned('04')}`,
          `key: ${versioned('01')}`,
        ],
        negative: [
          `ANTHROPIC_API_KEY=${full}...`,
          `${full}${'X'.repeat(93)}AA`,
          `${full}${f.base62(20)}`,
          `see ${full}YOUR-KEY-HERE-${'0123456789'.repeat(8)}`,
          `ANTHROPIC_API_KEY=${key.slice(0, 60)}...`,
          `ANTHROPIC_API_KEY=${key.replace(/^sk-ant-[a-z]+[0-9]{2}-/, `${prefix}v3-`)}`,
          ...lookAlikes,
        ],
      };
    },
  };
}

export const anthropicApiKey = anthropicRule('anthropic-api-key', 'Anthropic API key', 'api', (f) => f.anthropic(), [
  // From public code: docs placeholders, a redaction test's fake key, a system prompt full of A.
  'ANTHROPIC_API_KEY=sk-ant-api03-your-api-key-here',
  `key = "sk-ant-api03-" + "${'A'.repeat(40)}"`,
  `system_prompt: "sk-ant-api03-${'A'.repeat(45)}"`,
  "placeholder: providerName === 'anthropic' ? 'sk-ant-key...' : // sk-ant-api03-key",
]);
export const anthropicAdminKey = anthropicRule('anthropic-admin-key', 'Anthropic admin key', 'admin', (f) => f.anthropicAdmin(), [
  '"AnthropicAdminKey": "sk-ant-admin...",',
  '<input id="f_ant" placeholder="sk-ant-admin01-…">',
  'ANTHROPIC_ADMIN_KEY=sk-ant-admin01-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'curl https://api.anthropic.com/v1/organizations/users --header "x-api-key: $ANTHROPIC_ADMIN_KEY"',
]);

export const ANTHROPIC_RULES = [anthropicApiKey, anthropicAdminKey];
