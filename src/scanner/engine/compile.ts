import type { ContextRule, PrefixRule, Rule } from '../rules/index.js';
import { charTable } from './char-table.js';

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
  /**
   * One case-insensitive alternation of every anchor, keyword and encoded `-`/`_` (`%2d`, `%5f`). The engine runs
   * only this over the whole text and the full rules only next to its hits.
   */
  prefilter: RegExp;
  byAnchor: Map<string, CompiledPrefixRule[]>;
  byKeyword: Map<string, CompiledContextRule[]>;
  rules: readonly Rule[];
}

const PERCENT_TRIGGERS = ['%2d', '%5f'];

function escapeRegex(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

export function compileRules(rules: readonly Rule[]): CompiledRules {
  const byAnchor = new Map<string, CompiledPrefixRule[]>();
  const byKeyword = new Map<string, CompiledContextRule[]>();
  for (const rule of rules) {
    if (rule.kind === 'prefix') {
      const key = rule.anchor.toLowerCase();
      byAnchor.set(key, [...(byAnchor.get(key) ?? []), { rule, charset: charTable(rule.charset) }]);
    } else {
      const compiled = { rule, tokenChars: charTable(rule.tokenChars) };
      for (const keyword of rule.keywords) {
        const key = keyword.toLowerCase();
        byKeyword.set(key, [...(byKeyword.get(key) ?? []), compiled]);
      }
    }
  }
  // Longer literals first, so a keyword that contains another one is reported whole.
  const literals = [...byAnchor.keys(), ...byKeyword.keys(), ...PERCENT_TRIGGERS].sort((a, b) => b.length - a.length);
  const prefilter = new RegExp(literals.map(escapeRegex).join('|'), 'gi');
  return { prefilter, byAnchor, byKeyword, rules };
}
