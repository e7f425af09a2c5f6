/**
 * A PostgreSQL array literal (`{"a","b",NULL,1.5}`) for a column of values, sent as one text parameter and cast
 * in the statement (`$1::text[]`). The same literal `pg` builds for an array parameter, built more cheaply: `pg`
 * turns every element into a string and runs two regular-expression replacements on it, numbers included, which
 * was the larger part of a usage batch's cost in the gateway process. Here a number is written as is, and a string
 * is escaped only when it holds a quote or a backslash (the two characters that need it inside double quotes).
 * null and undefined are NULL. A string is always quoted, so 'NULL', '' and strings with commas, braces or blanks
 * stay strings.
 */
export function pgArrayLiteral<T>(items: readonly T[], valueOf: (item: T) => string | number | null | undefined): string {
  let literal = '{';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) literal += ',';
    const value = valueOf(items[i] as T);
    if (value === null || value === undefined) literal += 'NULL';
    else if (typeof value === 'number') literal += numberElement(value);
    else literal += `"${needsEscape(value) ? value.replace(ESCAPED, '\\$&') : value}"`;
  }
  return `${literal}}`;
}

const ESCAPED = /["\\]/g;

function needsEscape(text: string): boolean {
  return text.includes('"') || text.includes('\\');
}

/** As `pg` sends a number (its `toString`), quoted, so NaN and Infinity reach PostgreSQL's parser as words. */
function numberElement(value: number): string {
  return Number.isFinite(value) ? String(value) : `"${String(value)}"`;
}
