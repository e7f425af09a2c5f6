import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { AdminClient } from '../admin-client.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { renderTable } from '../table.js';

interface ProviderKeyView {
  id: string;
  project_name: string;
  name: string | null;
  redacted_value: string;
  owner_type: string;
  owner: string | null;
  age_days: number | null;
  last_used_at: string | null;
  status: 'vaulted' | 'shadow';
  upstream: { name: string } | null;
}

/** `keywarden providers …`: the connection to a provider's admin API, and what it sees. */
export function registerProviders(program: Command, io: CliIo): void {
  const providers = program.command('providers').description('Connect provider admin APIs; inventory and reconcile provider keys.');
  const client = (): AdminClient => new AdminClient(io.env);

  providers
    .command('connect')
    .description('Store an OpenAI Admin API key (sk-admin-…) in the vault; it is read from --admin-key-env VAR, never argv.')
    .argument('<provider>', 'openai')
    .requiredOption('--admin-key-env <var>', 'environment variable holding the sk-admin-… key')
    .option('--base-url <url>', 'Admin API base URL (default https://api.openai.com/v1)')
    .option('--json', 'print JSON')
    .action(async (provider: string, flags: { adminKeyEnv: string; baseUrl?: string; json?: boolean }) => {
      if (provider !== 'openai') throw new KeywardenError('KW_USAGE', { message: `Only "openai" can be connected today, not "${provider.slice(0, 40)}".` });
      const adminKey = io.env[flags.adminKeyEnv];
      if (!adminKey) throw new KeywardenError('KW_USAGE', { message: `Environment variable ${flags.adminKeyEnv} is not set.` });
      const view = await client().request<{ admin_key: string; base_url: string }>('POST', '/providers/openai/connect', {
        admin_key: adminKey,
        ...(flags.baseUrl === undefined ? {} : { base_url: flags.baseUrl }),
      });
      if (flags.json) return writeJson(io.stdout, view);
      writeLine(io.stdout, `Connected OpenAI organisation with admin key ${view.admin_key} (${view.base_url}).`);
    });

  providers
    .command('keys')
    .description('List every project and service-account key at the provider: vaulted behind keywarden, or shadow.')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const answer = await client().request<{ data: ProviderKeyView[] }>('GET', '/providers/openai/keys');
      if (flags.json) return writeJson(io.stdout, answer);
      writeLine(
        io.stdout,
        renderTable(
          ['STATUS', 'KEY', 'ID', 'PROJECT', 'OWNER', 'AGE (d)', 'LAST USED', 'UPSTREAM'],
          answer.data.map((k) => [k.status, k.redacted_value, k.id, k.project_name, `${k.owner ?? '?'} (${k.owner_type})`, k.age_days, k.last_used_at, k.upstream?.name ?? null]),
        ),
      );
      const shadow = answer.data.filter((k) => k.status === 'shadow').length;
      writeLine(io.stdout, `${answer.data.length} key(s): ${answer.data.length - shadow} vaulted, ${shadow} shadow.`);
    });

  providers
    .command('reconcile')
    .description('Compare provider usage per key with what keywarden forwarded, now (it also runs on a timer).')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const report = await client().request<{ upstreams: Array<{ upstreamName: string; provider: { tokens: number }; keywarden: { tokens: number }; mismatch: boolean }>; alerts: string[] }>(
        'POST',
        '/providers/openai/reconcile',
      );
      if (flags.json) return writeJson(io.stdout, report);
      writeLine(
        io.stdout,
        renderTable(
          ['UPSTREAM', 'PROVIDER TOKENS', 'KEYWARDEN TOKENS', 'MISMATCH'],
          report.upstreams.map((u) => [u.upstreamName, u.provider.tokens, u.keywarden.tokens, u.mismatch ? 'YES' : '']),
        ),
      );
      if (report.alerts.length > 0) writeLine(io.stdout, `Critical alert(s): ${report.alerts.join(', ')}`);
    });
}
