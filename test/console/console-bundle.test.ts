// The built console: initial JavaScript ≤ 200 KB gzipped (entry chunk + its static imports, from Vite's
// manifest), and nothing in the HTML that the strict CSP would block (inline script, inline style, event handlers).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, requireBuild } from './browser-support.js';

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}

const DIST = path.join(PROJECT_ROOT, 'dist', 'console');
const LIMIT_BYTES = 200 * 1024;

function initialFiles(manifest: Record<string, ManifestChunk>): string[] {
  const entries = Object.entries(manifest).filter(([, chunk]) => chunk.isEntry);
  expect(entries.length).toBe(1);
  const seen = new Set<string>();
  const visit = (key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    for (const next of manifest[key]?.imports ?? []) visit(next);
  };
  visit((entries[0] as [string, ManifestChunk])[0]);
  return [...seen].map((key) => (manifest[key] as ManifestChunk).file);
}

describe('console build', () => {
  it('keeps the initial JavaScript under 200 KB gzipped, with charts and passkeys loaded lazily', () => {
    requireBuild();
    const manifest = JSON.parse(readFileSync(path.join(DIST, '.vite', 'manifest.json'), 'utf8')) as Record<string, ManifestChunk>;
    const files = initialFiles(manifest);
    const gzipped = files.map((file) => gzipSync(readFileSync(path.join(DIST, file)), { level: 9 }).length);
    const total = gzipped.reduce((a, b) => a + b, 0);
    console.log(`console initial JS: ${files.join(', ')} = ${(total / 1024).toFixed(1)} KB gzipped`);
    expect(total).toBeGreaterThan(1_000);
    expect(total).toBeLessThanOrEqual(LIMIT_BYTES);
    // uPlot is not in the initial chunks (it loads with the first chart).
    const initialText = files.map((file) => readFileSync(path.join(DIST, file), 'utf8')).join('\n');
    expect(initialText).not.toContain('u-legend');
  });

  it('emits HTML with no inline script, inline style or event-handler attribute', () => {
    requireBuild();
    const html = readFileSync(path.join(DIST, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/assets\/[^"]+\.js"/);
      expect((body ?? '').trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
  });
});
