/** How the gateway treats an upstream response body, from its lower-cased Content-Type (headers.ts). */
export function isEventStream(type: string): boolean {
  return type.startsWith('text/event-stream');
}

export function isJson(type: string): boolean {
  return type.includes('json');
}

/** Media whose bytes are not text: only an exact key can hide in them. Everything else (or no type) is text-like. */
const BINARY_PREFIXES = ['audio/', 'video/', 'font/', 'application/octet-stream', 'application/zip', 'application/gzip'];

export function isTextLike(type: string): boolean {
  if (type.startsWith('image/')) return type.startsWith('image/svg');
  return !BINARY_PREFIXES.some((prefix) => type.startsWith(prefix));
}

/**
 * The body's content coding, lower-cased, or null for identity. The gateway asks for identity; an upstream that
 * compresses anyway gets its body decompressed (buffered bodies) or refused (streams), never relayed unscrubbed.
 */
export function contentEncodingOf(values: string | null): string | null {
  const text = (values ?? '').trim().toLowerCase();
  return text === '' || text === 'identity' ? null : text;
}
