import type { Context } from 'hono';
import type { z } from 'zod';
import { parseAdminJson } from '../admin/body-guard.js';
import { formatIssues } from '../config/index.js';
import { KeywardenError } from '../errors/index.js';

/** Sign-in bodies are tiny; this cap applies before any of them is parsed. */
export const AUTH_MAX_BODY_BYTES = 64 * 1024;

/** A JSON body checked with a zod schema; deep nesting and bad JSON are 400s (see parseAdminJson). */
export async function parseAuthBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    throw new KeywardenError('KW_INVALID_JSON');
  }
  const result = schema.safeParse(parseAdminJson(text));
  if (!result.success) throw new KeywardenError('KW_VALIDATION', { message: `Invalid input:\n${formatIssues(result.error.issues)}` });
  return result.data;
}
