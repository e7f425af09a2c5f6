import { z } from 'zod';

/** `ui.session`: how long a console session lives without activity, and at most. */
export const uiSessionConfigSchema = z
  .object({
    idleMinutes: z.number().int().min(1).max(24 * 60).default(30),
    absoluteHours: z.number().min(0.1).max(24 * 30).default(12),
  })
  .strict();
