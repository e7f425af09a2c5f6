// Public library surface of keywarden.
export * from './errors/index.js';
export * from './keys/index.js';
export { scanText } from './scanner/engine/engine.js';
