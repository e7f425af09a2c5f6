import { z } from 'zod';
import { configSchema } from './schema.js';

/** JSON Schema for editors, generated from the zod schema so the two never drift. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input' });
}
