import { z } from 'zod';
import { randomBase62 } from '../keys/index.js';

/** User names: short, printable, no spaces or control characters (they appear in audit entries and the CLI). */
export const USER_NAME = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'letters, digits, dot, underscore, @ and dash; starting with a letter or digit');

export function newUserId(): string {
  return `usr_${randomBase62(16)}`;
}
