import { z } from 'zod';
import { MAX_MODEL_GLOB_LENGTH } from '../policy/index.js';
import { projectLimitsSchema } from '../limits/project-limits.js';

/** Names are how people refer to projects (`--project web`); ids start with prj_, so a name never looks like one. */
const projectName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][\w.-]*$/, 'use letters, digits, . _ - (starting with a letter or digit)')
  .refine((name) => !name.startsWith('prj_'), { message: 'names may not start with prj_ (reserved for ids)' });

const modelGlob = z.string().min(1).max(MAX_MODEL_GLOB_LENGTH).regex(/^[\w.*?:/@-]+$/, 'model patterns may use letters, digits, . _ - : / @ * ?');

export const createProjectSchema = z
  .object({
    name: projectName,
    /** Models every key of the project may use at most; empty or absent: any (the keys' own scopes still apply). */
    models: z.array(modelGlob).max(200).optional(),
    limits: projectLimitsSchema.optional(),
  })
  .strict();

export const updateProjectSchema = z
  .object({
    name: projectName.optional(),
    models: z.array(modelGlob).max(200).optional(),
    /** Replaces the project's limits as a whole. */
    limits: projectLimitsSchema.optional(),
  })
  .strict();

export type CreateProjectInput = z.infer<typeof createProjectSchema>;
export type UpdateProjectInput = z.infer<typeof updateProjectSchema>;
