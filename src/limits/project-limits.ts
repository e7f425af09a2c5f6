import type { z } from 'zod';
import { compileModelGlobs, type ModelMatcher } from '../policy/index.js';
import type { ProjectRecord } from '../store/index.js';
import { KeyVersionCache } from '../util/key-version-cache.js';
import { keyLimitsSchema } from './schema.js';

/**
 * A project's shared limits: the rate, token, concurrency and budget fields of a key's limits, counted once for
 * all of the project's keys together. Per-request fields (output caps, model rules, allowances) stay per key.
 */
export const projectLimitsSchema = keyLimitsSchema.pick({ rpm: true, rpd: true, tpm: true, concurrency: true, budgets: true, time_zone: true }).strict();

export type ProjectLimits = z.infer<typeof projectLimitsSchema>;

export interface CompiledProject {
  id: string;
  name: string;
  limits: ProjectLimits;
  /** Null when the project allows any model. */
  models: ModelMatcher | null;
  /** No shared limit at all: the limiter adds nothing for this project. */
  empty: boolean;
}

/** Compiled once per project version (id + updatedAt): a project update takes effect on the next request. */
export class ProjectCompiler {
  private readonly cache = new KeyVersionCache((project: ProjectRecord): CompiledProject => {
    const limits = project.limits as ProjectLimits;
    return {
      id: project.id,
      name: project.name,
      limits,
      models: project.models.length > 0 ? compileModelGlobs(project.models) : null,
      empty: Object.keys(limits).filter((k) => k !== 'time_zone').length === 0,
    };
  }, 10_000);

  compile(project: ProjectRecord): CompiledProject {
    return this.cache.get(project);
  }
}
