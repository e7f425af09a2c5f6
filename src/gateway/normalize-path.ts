import { KeywardenError } from '../errors/index.js';

/**
 * Normalizes a request path before any authorization decision. Percent-encoding is decoded once; a path that
 * still contains an escape, a backslash, a NUL or control characters is refused rather than guessed at, and dot
 * segments are resolved, so `/v1/chat/../files` authorizes (and is forwarded) as `/v1/files`.
 * The query string is returned separately and untouched.
 */
export function normalizeRequestPath(rawUrl: string): { path: string; search: string } {
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const search = q === -1 ? '' : rawUrl.slice(q);
  if (!rawPath.startsWith('/')) throw badPath();

  // Fast path: the common, already-clean path.
  if (!/[%\\.]|\/\//.test(rawPath)) return { path: rawPath, search };

  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw badPath();
  }
  // Double encoding (%252e), backslashes and control characters have no legitimate use in an OpenAI path.
  if (/[%\\]/.test(decoded) || hasControlCharacter(decoded)) throw badPath();

  const out: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) throw badPath();
      out.pop();
      continue;
    }
    out.push(segment);
  }
  const trailing = decoded.endsWith('/') && out.length > 0 ? '/' : '';
  return { path: `/${out.map(encodeURIComponent).join('/')}${trailing}`, search };
}

function badPath(): KeywardenError {
  return new KeywardenError('KW_BAD_REQUEST', { message: 'The request path is malformed.' });
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
