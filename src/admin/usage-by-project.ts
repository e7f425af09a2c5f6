import { USAGE_GROUPS, type Store, type UsageGroup, type UsageQuery, type UsageSummaryRow } from '../store/index.js';

/** Usage dimensions of the admin API: the store's, plus the key's project. */
export type AdminUsageGroup = UsageGroup | 'project';
export const ADMIN_USAGE_GROUPS: readonly AdminUsageGroup[] = [...USAGE_GROUPS, 'project'];

export type ProjectUsageRow = UsageSummaryRow & { projectId?: string | null };

const SUMMED = ['requests', 'errors', 'promptTokens', 'cachedTokens', 'completionTokens', 'reasoningTokens', 'costUsd', 'unpricedRequests'] as const;

/**
 * Usage summarized by any dimensions including `project`, optionally only for one project's keys. Usage records
 * name keys, not projects, so the store groups by key (plus the other dimensions) and the rows are folded here by
 * each key's current project; keys in no project fold into `projectId: null`. Plain queries go straight through.
 */
export async function summarizeUsage(store: Store, query: UsageQuery, groupBy: readonly AdminUsageGroup[], onlyProject: string | null): Promise<ProjectUsageRow[]> {
  const byProject = groupBy.includes('project');
  const storeGroups = groupBy.filter((g): g is UsageGroup => g !== 'project');
  if (!byProject && onlyProject === null) return store.usage.summarize(query, storeGroups);

  const withKey: UsageGroup[] = storeGroups.includes('key') ? storeGroups : ['key', ...storeGroups];
  const [rows, keys] = await Promise.all([store.usage.summarize(query, withKey), store.keys.list()]);
  const projectOf = new Map(keys.map((k) => [k.id, k.projectId ?? null]));
  const folded = new Map<string, ProjectUsageRow>();
  for (const row of rows) {
    const projectId = projectOf.get(row.keyId ?? '') ?? null;
    if (onlyProject !== null && projectId !== onlyProject) continue;
    const out: ProjectUsageRow = { requests: 0, errors: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0, costUsd: 0, unpricedRequests: 0 };
    if (byProject) out.projectId = projectId;
    if (storeGroups.includes('key') && row.keyId !== undefined) out.keyId = row.keyId;
    if (storeGroups.includes('model') && row.model !== undefined) out.model = row.model;
    if (storeGroups.includes('day') && row.day !== undefined) out.day = row.day;
    const id = JSON.stringify([out.projectId, out.keyId, out.model, out.day]);
    const sum = folded.get(id) ?? out;
    for (const field of SUMMED) sum[field] += row[field];
    folded.set(id, sum);
  }
  return [...folded.values()];
}
