import { KeywardenError } from '../errors/index.js';
import { parseBudget, type Budget } from '../limits/schema.js';
import type { ProjectLimits } from '../limits/project-limits.js';

export function positiveFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new KeywardenError('KW_USAGE', { message: `${flag} takes a positive whole number` });
  return n;
}

/** The flags keys and projects share: the limits a project can also carry (ProjectLimits is a pick of KeyLimits). */
export interface SharedLimitFlags {
  rpm?: string;
  rpd?: string;
  tpm?: string;
  concurrency?: string;
  budget?: string[];
  timeZone?: string;
}

/** Writes the shared limits named on the command line into `next`, leaving the others as they are. */
export function applySharedLimitFlags(flags: SharedLimitFlags, next: ProjectLimits): void {
  const set = <K extends keyof ProjectLimits>(name: K, value: ProjectLimits[K] | undefined): void => {
    if (value !== undefined) next[name] = value;
  };
  set('rpm', positiveFlag(flags.rpm, '--rpm'));
  set('rpd', positiveFlag(flags.rpd, '--rpd'));
  set('tpm', positiveFlag(flags.tpm, '--tpm'));
  set('concurrency', positiveFlag(flags.concurrency, '--concurrency'));
  set('time_zone', flags.timeZone);
  if (flags.budget) {
    next.budgets = flags.budget.map((text): Budget => {
      const budget = parseBudget(text);
      if (!budget) throw new KeywardenError('KW_USAGE', { message: `--budget takes AMOUNT/PERIOD (day, week, month, lifetime), got "${text}"` });
      return budget;
    });
  }
}
