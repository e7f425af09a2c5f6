import type { z } from 'zod';

/** One line per problem, each with its path, so a user fixes everything in one go. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `  - ${issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)'}: ${issue.message}`)
    .join('\n');
}
