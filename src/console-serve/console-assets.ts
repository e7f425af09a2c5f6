// The built console (dist/console), read once at start-up into memory: a few hundred KB. Serving only from this
// map makes path traversal impossible by construction: a request path either is one of these keys or is not
// served (no filesystem path is ever built from a URL).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';

export interface ConsoleAsset {
  body: Buffer;
  /** gzip of body when that is smaller (text assets), else null. */
  gzip: Buffer | null;
  contentType: string;
  etag: string;
  /** Under /assets/: content-hashed name, cached for a year. */
  immutable: boolean;
}

export interface ConsoleAssets {
  /** URL path (e.g. `/assets/index-abc.js`) → asset. */
  files: ReadonlyMap<string, ConsoleAsset>;
  index: ConsoleAsset;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

/** dist/console beside dist/<this dir> when built; from src/ (tsx) the same path resolves to the build too. */
export const DEFAULT_CONSOLE_DIR = path.resolve(import.meta.dirname, '..', '..', 'dist', 'console');

function walk(dir: string, prefix: string, out: Map<string, string>): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // Vite's manifest and any dotfile stay private: they are build metadata, not console content.
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, `${prefix}${entry.name}/`, out);
    else if (entry.isFile()) out.set(`${prefix}${entry.name}`, full);
  }
}

function toAsset(file: string, urlPath: string): ConsoleAsset {
  const ext = path.extname(file).toLowerCase();
  const body = readFileSync(file);
  const zipped = COMPRESSIBLE.has(ext) ? gzipSync(body, { level: 9 }) : null;
  return {
    body,
    gzip: zipped && zipped.length < body.length ? zipped : null,
    contentType: TYPES[ext] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    immutable: urlPath.startsWith('/assets/'),
  };
}

/** Null when the console has not been built (no index.html): the server then answers `/` with 404 as before. */
export function loadConsoleAssets(dir: string = DEFAULT_CONSOLE_DIR): ConsoleAssets | null {
  try {
    if (!statSync(path.join(dir, 'index.html')).isFile()) return null;
  } catch {
    return null;
  }
  const paths = new Map<string, string>();
  walk(dir, '/', paths);
  const files = new Map<string, ConsoleAsset>();
  for (const [urlPath, file] of paths) files.set(urlPath, toAsset(file, urlPath));
  const index = files.get('/index.html');
  if (!index) return null;
  return { files, index };
}
