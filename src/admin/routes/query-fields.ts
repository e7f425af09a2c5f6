import { z } from 'zod';
import { parseTime } from './route-helpers.js';

/** Query fields shared by the monitor and audit routes. */
export const timeField = z
  .string()
  .transform((value, ctx) => {
    const ms = parseTime(value);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: 'expected an ISO date or epoch milliseconds' });
      return z.NEVER;
    }
    return ms;
  })
  .optional();

export const limitField = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);
