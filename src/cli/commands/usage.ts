import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { USAGE_GROUP_FIELDS, USAGE_GROUPS, type UsageGroup, type UsageSummaryRow } from '../../store/index.js';
import { parseDuration } from '../../util/duration.js';
import { AdminClient } from '../admin-client.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { renderTable } from '../table.js';
import { formatUsd } from '../../util/money.js';

/** `--since 7d` means seven days ago; an ISO date is taken as is. */
function timeFlag(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const ago = parseDuration(value);
  if (ago !== null) return new Date(Date.now() - ago).toISOString();
  if (Number.isNaN(Date.parse(value))) throw new KeywardenError('KW_USAGE', { message: `${name}: expected a duration (7d) or an ISO date` });
  return value;
}

type Group = UsageGroup | 'project';
const GROUPS: readonly Group[] = [...USAGE_GROUPS, 'project'];

function groupsFlag(value: string | undefined): Group[] {
  if (value === undefined) return [...USAGE_GROUPS];
  const groups = value.split(',').map((g) => g.trim());
  for (const group of groups) {
    if (!(GROUPS as readonly string[]).includes(group)) {
      throw new KeywardenError('KW_USAGE', { message: `--group-by takes project, key, model and/or day, got "${group}"` });
    }
  }
  return groups as Group[];
}

type NamedRow = UsageSummaryRow & { keyName?: string | null; projectId?: string | null; projectName?: string | null };

const GROUP_TITLES: Record<Group, string> = { day: 'DAY', key: 'KEY', model: 'MODEL', project: 'PROJECT' };

export function registerUsage(program: Command, io: CliIo): void {
  program
    .command('usage')
    .description('Usage and spend, grouped by key, model and/or day.')
    .option('--since <when>', 'start (duration ago such as 7d, or ISO date)')
    .option('--until <when>', 'end (duration ago or ISO date)')
    .option('--key <key>', 'only this key (id or name)')
    .option('--group-by <dims>', 'project, key, model, day or a comma list (default: key,model,day)')
    .option('--csv', 'print CSV (for spreadsheets)')
    .option('--json', 'print JSON')
    .action(async (flags: { since?: string; until?: string; key?: string; groupBy?: string; csv?: boolean; json?: boolean }) => {
      const groups = groupsFlag(flags.groupBy);
      const params = new URLSearchParams({ group_by: groups.join(',') });
      const since = timeFlag(flags.since, '--since');
      const until = timeFlag(flags.until, '--until');
      if (since) params.set('since', since);
      if (until) params.set('until', until);
      if (flags.key) params.set('key_id', flags.key);
      const client = new AdminClient(io.env);
      if (flags.csv) {
        params.set('format', 'csv');
        io.stdout.write(await client.requestText('GET', `/usage?${params.toString()}`));
        return;
      }
      const { data } = await client.request<{ data: NamedRow[] }>('GET', `/usage?${params.toString()}`);
      if (flags.json) return writeJson(io.stdout, data);
      const dims = (['day', 'project', 'key', 'model'] as const).filter((g) => groups.includes(g));
      // Key and project columns show the name beside the id; keys in no project show "(none)".
      const cell = (r: NamedRow, g: Group): string | null => {
        if (g === 'project') return r.projectId ? `${r.projectName ?? '?'} (${r.projectId})` : '(none)';
        return g === 'key' && r.keyName ? `${r.keyName} (${r.keyId ?? ''})` : (r[USAGE_GROUP_FIELDS[g]] ?? null);
      };
      writeLine(
        io.stdout,
        renderTable(
          [...dims.map((g) => GROUP_TITLES[g]), 'REQUESTS', 'ERRORS', 'PROMPT', 'CACHED', 'COMPLETION', 'COST'],
          data.map((r) => [
            ...dims.map((g) => cell(r, g)),
            r.requests,
            r.errors,
            r.promptTokens,
            r.cachedTokens,
            r.completionTokens,
            `${formatUsd(r.costUsd)}${r.unpricedRequests > 0 ? ` (+${r.unpricedRequests} unpriced)` : ''}`,
          ]),
        ),
      );
    });
}
