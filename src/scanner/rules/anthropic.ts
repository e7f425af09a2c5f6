import { FakeKeys } from './fake-keys.js';
import { TOKEN_CHARS, type PrefixRule } from './rule.js';

function anthropicRule(id: string, title: string, prefix: string, make: (f: FakeKeys) => string): PrefixRule {
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
    shape: new RegExp(`^${prefix}[A-Za-z0-9_-]{80,}$`),
    fixtures: () => {
      const f = new FakeKeys(id.length * 104_729);
      const key = make(f);
      return {
        positive: [
          `ANTHROPIC_API_KEY="${key}"`,
          `headers: { 'x-api-key': '${key}' }`,
          `anthropic:\n  key: ${key}\n`,
          `fn(${key})`,
        ],
        negative: [
          `ANTHROPIC_API_KEY=${prefix}...`,
          `${prefix}${'X'.repeat(93)}AA`,
          `${prefix}${f.base62(20)}`,
          `see ${prefix}YOUR-KEY-HERE-${'0123456789'.repeat(8)}`,
        ],
      };
    },
  };
}

export const anthropicApiKey = anthropicRule('anthropic-api-key', 'Anthropic API key', 'sk-ant-api03-', (f) =>
  f.anthropic(),
);
export const anthropicAdminKey = anthropicRule('anthropic-admin-key', 'Anthropic admin key', 'sk-ant-admin01-', (f) =>
  f.anthropicAdmin(),
);

export const ANTHROPIC_RULES = [anthropicApiKey, anthropicAdminKey];
