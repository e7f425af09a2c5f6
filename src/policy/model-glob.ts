/** A compiled list of model glob patterns (`*` any run, `?` one character); empty allows every model. */
export interface ModelMatcher {
  allows(model: string): boolean;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

export function compileModelGlobs(patterns: readonly string[]): ModelMatcher {
  if (patterns.length === 0) return { allows: () => true };
  const regexes = patterns.map(globToRegExp);
  return { allows: (model) => regexes.some((re) => re.test(model)) };
}

export function matchesModelGlob(pattern: string, model: string): boolean {
  return globToRegExp(pattern).test(model);
}
