import type { ContextRule, PrefixRule, Rule } from '../rules/index.js';
import { charTable } from './char-table.js';
import { createPrefilter, type Prefilter } from './prefilter.js';

export interface CompiledPrefixRule {
  rule: PrefixRule;
  charset: Uint8Array;
}

export interface CompiledContextRule {
  rule: ContextRule;
  tokenChars: Uint8Array;
}

/** The rules turned into the engine's lookup structures, built once per rule set. */
export interface CompiledRules {
  prefilter: Prefilter;
  byAnchor: Map<string, CompiledPrefixRule[]>;
  /** Context rules are found from the token side: long alphanumeric runs are rare, provider words are not. */
  contextRules: CompiledContextRule[];
  rules: readonly Rule[];
}

/**
 * The prefilter anchor for a rule: its prefix up to the first `-` or `_` (`sk-or-v1-` → `sk-`, `api_org_` →
 * `api_`). Rules sharing a head are tried in order, and each checks its full prefix.
 */
function headOf(anchor: string): string {
  const cut = anchor.search(/[-_]/);
  return cut === -1 ? anchor : anchor.slice(0, cut + 1);
}

export function compileRules(rules: readonly Rule[]): CompiledRules {
  const byAnchor = new Map<string, CompiledPrefixRule[]>();
  const contextRules: CompiledContextRule[] = [];
  for (const rule of rules) {
    if (rule.kind === 'prefix') {
      const anchor = headOf(rule.anchor);
      byAnchor.set(anchor, [...(byAnchor.get(anchor) ?? []), { rule, charset: charTable(rule.charset) }]);
    } else {
      contextRules.push({ rule, tokenChars: charTable(rule.tokenChars) });
    }
  }
  return { prefilter: createPrefilter([...byAnchor.keys()]), byAnchor, contextRules, rules };
}
