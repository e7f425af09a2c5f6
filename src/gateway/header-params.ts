/**
 * A strict reader for `type; name=value; name="quoted"` header values (Content-Type of a request, Content-Disposition
 * of a multipart part). It does not try to understand every form a lenient parser accepts: it returns null for
 * anything a second parser could read differently (stray characters, unterminated or escaped quotes, empty
 * parameters), so the caller can refuse it. Linear: one pass, no regexes with nested quantifiers.
 */
export interface HeaderParam {
  /** Lower-cased parameter name. */
  name: string;
  /** The name exactly as sent, to detect non-canonical case. */
  rawName: string;
  value: string;
  quoted: boolean;
}

export interface ParsedHeaderValue {
  /** Lower-cased type (`multipart/form-data`, `form-data`). */
  type: string;
  params: HeaderParam[];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

export function parseHeaderValue(value: string): ParsedHeaderValue | null {
  let i = 0;
  const n = value.length;
  const skip = (): void => {
    while (i < n && isSpace(value.charCodeAt(i))) i++;
  };
  const readToken = (stops: string): string => {
    const start = i;
    while (i < n && !stops.includes(value[i] as string) && !isSpace(value.charCodeAt(i))) i++;
    return value.slice(start, i);
  };
  skip();
  const type = readToken(';');
  if (!TOKEN.test(type.replace('/', ''))) return null;
  skip();
  const params: HeaderParam[] = [];
  while (i < n) {
    if (value[i] !== ';') return null;
    i++;
    skip();
    if (i === n) break; // a trailing `;` is common and harmless
    const rawName = readToken('=;');
    if (!TOKEN.test(rawName)) return null;
    skip();
    if (value[i] !== '=') return null;
    i++;
    skip();
    let paramValue: string;
    let quoted = false;
    if (value[i] === '"') {
      quoted = true;
      const close = value.indexOf('"', i + 1);
      if (close === -1) return null;
      paramValue = value.slice(i + 1, close);
      // Parsers disagree on backslash escapes inside quotes (browsers never send them): refuse rather than guess.
      if (paramValue.includes('\\')) return null;
      i = close + 1;
    } else {
      paramValue = readToken(';');
      if (!TOKEN.test(paramValue)) return null;
    }
    params.push({ name: rawName.toLowerCase(), rawName, value: paramValue, quoted });
    skip();
  }
  return { type: type.toLowerCase(), params };
}
