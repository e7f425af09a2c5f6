import type { Context, Hono, Schema } from 'hono';
import type { z } from 'zod';
import { formatIssues } from '../../config/index.js';
import { KeywardenError } from '../../errors/index.js';
import type { AdminRole } from '../../store/index.js';

/** The admin app's environment: the auth middleware sets the caller's admin token id. */
export type AdminEnv = {
  Variables: {
    adminId: string;
    adminRole: AdminRole;
    /** The project a limited token is confined to. */
    adminProject: string | null;
    /** Set when the caller signed in to the console (a session cookie) instead of sending an admin token. */
    sessionUserId?: string;
  };
};

/** Any admin app (with or without a basePath) that route modules can register on. */
export type AdminApp<S extends Schema = Schema, B extends string = string> = Hono<AdminEnv, S, B>;

/** Parses query parameters with a zod schema; every problem is reported at once as KW_VALIDATION. */
export function parseQuery<T extends z.ZodType>(c: Context, schema: T): z.output<T> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) {
    throw new KeywardenError('KW_VALIDATION', { message: `Invalid query:\n${formatIssues(result.error.issues)}` });
  }
  return result.data;
}

/** Parses a JSON body (empty means `{}`) with a zod schema; bad JSON is KW_INVALID_JSON, every problem reported at once. */
export async function parseJsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  let raw: unknown;
  try {
    const text = await c.req.text();
    raw = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw new KeywardenError('KW_INVALID_JSON');
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new KeywardenError('KW_VALIDATION', { message: `Invalid input:\n${formatIssues(result.error.issues)}` });
  return result.data;
}

/** `since`/`until` style parameters: an ISO date or epoch milliseconds. */
export function parseTime(value: string): number | null {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/** The audit actor for the admin making the request. */
export function adminActor(c: Context<AdminEnv>): string {
  const user = c.get('sessionUserId');
  return user === undefined ? `admin:${c.get('adminId')}` : `user:${user}`;
}

/** A path parameter. Route modules are generic over the app's base path, so hono cannot type it as present. */
export function pathParam(c: Context, name: string): string {
  const value = c.req.param(name);
  if (!value) throw new KeywardenError('KW_NOT_FOUND');
  return value;
}
