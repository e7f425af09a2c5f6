export * from './base62.js';
export * from './virtual-key.js';
export { maskSecret } from './mask.js';
