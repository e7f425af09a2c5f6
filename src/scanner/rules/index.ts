import { ANTHROPIC_RULES } from './anthropic.js';
import { CONTEXT_RULES } from './context.js';
import { googleApiKey } from './google.js';
import { OPENAI_RULES } from './openai.js';
import { PREFIXED_RULES } from './prefixed.js';
import type { Rule } from './rule.js';
import { keywardenVirtualKey } from './virtual-key.js';
import { keywardenAdminToken } from './admin-token.js';

export type { ContextRule, PrefixRule, Rule, RuleFixtures } from './rule.js';
export { FakeKeys, seededRandom } from './fake-keys.js';

/**
 * Every rule, in the order the engine tries them for a shared anchor: the more specific prefixes (`sk-proj-`,
 * `sk-ant-`, `sk-or-v1-`) come before the generic `sk-` shapes so each key gets exactly one rule.
 */
export const ALL_RULES: readonly Rule[] = [
  ...OPENAI_RULES.slice(0, 3),
  ...ANTHROPIC_RULES,
  ...PREFIXED_RULES,
  ...OPENAI_RULES.slice(3),
  googleApiKey,
  keywardenVirtualKey,
  keywardenAdminToken,
  ...CONTEXT_RULES,
];

export function ruleById(id: string): Rule | undefined {
  return ALL_RULES.find((rule) => rule.id === id);
}
