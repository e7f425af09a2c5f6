import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import type { UsageSummaryRow } from '../../store/index.js';
import { parseDuration } from '../../util/duration.js';
import { AdminClient } from '../admin-client.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { renderTable } from '../table.js';

/** `--since 7d` means seven days ago; an ISO date is taken as is. */
function timeFlag(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const ago = parseDuration(value);
  if (ago !== null) return new Date(Date.now() - ago).toISOString();
  if (Number.isNaN(Date.parse(value))) throw new KeywardenError('KW_USAGE', { message: `${name}: expected a duration (7d) or an ISO date` });
  return value;
}

export function registerUsage(program: Command, io: CliIo): void {
  program
    .command('usage')
    .description('Usage and spend per key, model and day.')
    .option('--since <when>', 'start (duration ago such as 7d, or ISO date)')
    .option('--until <when>', 'end (duration ago or ISO date)')
    .option('--key <id>', 'only this key')
    .option('--json', 'print JSON')
    .action(async (flags: { since?: string; until?: string; key?: string; json?: boolean }) => {
      const params = new URLSearchParams();
      const since = timeFlag(flags.since, '--since');
      const until = timeFlag(flags.until, '--until');
      if (since) params.set('since', since);
      if (until) params.set('until', until);
      if (flags.key) params.set('key_id', flags.key);
      const query = params.size > 0 ? `?${params.toString()}` : '';
      const { data } = await new AdminClient(io.env).request<{ data: UsageSummaryRow[] }>('GET', `/usage${query}`);
      if (flags.json) return writeJson(io.stdout, data);
      writeLine(
        io.stdout,
        renderTable(
          ['DAY', 'KEY', 'MODEL', 'REQUESTS', 'ERRORS', 'PROMPT', 'CACHED', 'COMPLETION', 'COST USD'],
          data.map((r) => [
            r.day,
            r.keyId,
            r.model,
            r.requests,
            r.errors,
            r.promptTokens,
            r.cachedTokens,
            r.completionTokens,
            `${r.costUsd.toFixed(6)}${r.unpricedRequests > 0 ? ` (+${r.unpricedRequests} unpriced)` : ''}`,
          ]),
        ),
      );
    });
}
