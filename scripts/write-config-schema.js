// Part of `npm run build`: writes dist/keywarden.schema.json, the JSON Schema of keywarden.config.*, generated
// from the zod schema just compiled, so the shipped file can never drift from what the loader accepts.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { configJsonSchema } from '../dist/config/json-schema.js';

const root = path.resolve(import.meta.dirname, '..');
const schema = { title: 'keywarden configuration (keywarden.config.yaml / .json)', ...configJsonSchema() };
writeFileSync(path.join(root, 'dist', 'keywarden.schema.json'), `${JSON.stringify(schema, null, 2)}\n`);
