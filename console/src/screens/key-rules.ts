// The key form's two free-text fields: model rules (one per line, `gpt-4o*: rpm=10, tpm=20000` or `o1*: deny`) and
// metadata tags (one per line, `team=search`). Parsed here for a message that names the line; the admin API
// validates the result again.

/** A key's per-model rule as the admin API takes it (limits.model_rules); this module imports nothing, so tests load it as is. */
export interface ModelRule {
  match: string;
  deny?: boolean;
  rpm?: number;
  rpd?: number;
  tpm?: number;
}

const MAX_RULES = 50;
const MAX_PATTERN = 200;
const MAX_TAGS = 50;
const MAX_TAG_VALUE = 500;
const LIMIT_NAMES = ['rpm', 'rpd', 'tpm'] as const;

const lines = (text: string): Array<{ line: string; n: number }> =>
  text
    .split(/\r?\n/)
    .map((line, i) => ({ line: line.trim(), n: i + 1 }))
    .filter((l) => l.line.length > 0);

/** `pattern: item, item`; the last colon separates (model names may hold colons: ft:gpt-4o:org). */
export function parseModelRules(text: string): ModelRule[] {
  const rules: ModelRule[] = [];
  const seen = new Map<string, number>();
  for (const { line, n } of lines(text)) {
    const at = line.lastIndexOf(':');
    const match = at > 0 ? line.slice(0, at).trim() : '';
    if (!match || /\s/.test(match)) throw new Error(`Model rules, line ${n}: expected "model-pattern: rpm=10" or "model-pattern: deny".`);
    if (match.length > MAX_PATTERN) throw new Error(`Model rules, line ${n}: the pattern is longer than ${MAX_PATTERN} characters.`);
    const earlier = seen.get(match);
    if (earlier !== undefined) throw new Error(`Model rules, line ${n}: "${match}" is already on line ${earlier} (the first match wins, so this line would never apply).`);
    seen.set(match, n);
    const rule: ModelRule = { match };
    const items = line
      .slice(at + 1)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (items.length === 0) throw new Error(`Model rules, line ${n}: say "deny" or give a limit such as rpm=10.`);
    for (const item of items) {
      if (item.toLowerCase() === 'deny') {
        rule.deny = true;
        continue;
      }
      const [name = '', value = '', extra] = item.split('=').map((s) => s.trim());
      const limit = LIMIT_NAMES.find((l) => l === name.toLowerCase());
      const amount = Number(value);
      if (!limit || extra !== undefined || !/^\d+$/.test(value) || !Number.isSafeInteger(amount) || amount <= 0) {
        throw new Error(`Model rules, line ${n}: "${item}" is not deny, rpm=N, rpd=N or tpm=N (N a whole number above 0).`);
      }
      if (rule[limit] !== undefined) throw new Error(`Model rules, line ${n}: ${limit} is given twice.`);
      rule[limit] = amount;
    }
    rules.push(rule);
  }
  if (rules.length > MAX_RULES) throw new Error(`Model rules: at most ${MAX_RULES} rules.`);
  return rules;
}

export function modelRulesText(rules: readonly ModelRule[] | undefined): string {
  return (rules ?? [])
    .map((r) => `${r.match}: ${[...(r.deny ? ['deny'] : []), ...LIMIT_NAMES.filter((l) => r[l] !== undefined).map((l) => `${l}=${String(r[l])}`)].join(', ')}`)
    .join('\n');
}

/** `name=value` per line; the first `=` separates, so values may hold `=`. */
export function parseMetadata(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  const seen = new Map<string, number>();
  for (const { line, n } of lines(text)) {
    const at = line.indexOf('=');
    const name = at > 0 ? line.slice(0, at).trim() : '';
    if (!name) throw new Error(`Metadata, line ${n}: expected name=value, e.g. team=search.`);
    const earlier = seen.get(name);
    if (earlier !== undefined) throw new Error(`Metadata, line ${n}: "${name}" is already on line ${earlier}.`);
    const value = line.slice(at + 1).trim();
    if (value.length > MAX_TAG_VALUE) throw new Error(`Metadata, line ${n}: the value is longer than ${MAX_TAG_VALUE} characters.`);
    seen.set(name, n);
    // defineProperty: a tag named __proto__ is an own property like any other, not the object's prototype.
    Object.defineProperty(tags, name, { value, enumerable: true, writable: true, configurable: true });
  }
  if (seen.size > MAX_TAGS) throw new Error(`Metadata: at most ${MAX_TAGS} entries.`);
  return tags;
}

export function metadataText(metadata: Record<string, string> | undefined): string {
  return Object.entries(metadata ?? {})
    .map(([name, value]) => `${name}=${value}`)
    .join('\n');
}
