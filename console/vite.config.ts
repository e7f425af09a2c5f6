// Builds the web console into dist/console/ (shipped in the npm package). Preact's JSX goes through Vite's own
// Oxc transform (no plugin); no inline script or style is emitted, so the strict CSP needs no hashes or nonces.
import path from 'node:path';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.resolve(root, '../dist/console'),
    emptyOutDir: true,
    manifest: true,
    // The polyfill would be an inline-free module anyway, but every target browser has modulepreload.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
  },
});
