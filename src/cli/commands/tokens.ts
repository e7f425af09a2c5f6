import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { AdminClient } from '../admin-client.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { renderTable } from '../table.js';

interface TokenView {
  id: string;
  name: string;
  role: string;
  project_id?: string | null;
  display: string;
  status: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

const ROLES = ['owner', 'admin', 'viewer'];

/** `keywarden tokens create|list|revoke`: admin tokens through the admin API (owner tokens only). */
export function registerTokens(program: Command, io: CliIo): void {
  const tokens = program.command('tokens').description('Admin tokens: create, list and revoke (needs an owner token).');
  const client = (): AdminClient => new AdminClient(io.env);

  tokens
    .command('create')
    .description('Issue an admin token; the secret is printed once.')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--role <role>', 'owner | admin | viewer', 'viewer')
    .option('--expires <when>', 'a duration such as 30d, or an ISO date (default: never)')
    .option('--project <name|id>', "limit the token to one project's keys and usage")
    .option('--json', 'print JSON')
    .action(async (flags: { name: string; role: string; expires?: string; project?: string; json?: boolean }) => {
      if (!ROLES.includes(flags.role)) throw new KeywardenError('KW_USAGE', { message: `--role must be one of ${ROLES.join(', ')}` });
      const body: Record<string, unknown> = { name: flags.name, role: flags.role };
      if (flags.expires !== undefined) body.expires = flags.expires;
      if (flags.project !== undefined) body.project = flags.project;
      const created = await client().request<TokenView & { token: string }>('POST', '/admin-tokens', body);
      if (flags.json) return writeJson(io.stdout, created);
      const scope = created.project_id ? `, limited to project ${created.project_id}` : '';
      writeLine(io.stdout, `Created admin token ${created.id} (${created.name}, role ${created.role}${scope}, expires ${created.expires_at ?? 'never'}).`);
      writeLine(io.stdout, 'Token (shown once, stored only as a hash):');
      writeLine(io.stdout, `  ${created.token}`);
    });

  tokens
    .command('list')
    .description('List admin tokens (prefix and last 4 characters only).')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const { data } = await client().request<{ data: TokenView[] }>('GET', '/admin-tokens');
      if (flags.json) return writeJson(io.stdout, data);
      writeLine(
        io.stdout,
        renderTable(
          ['ID', 'NAME', 'ROLE', 'PROJECT', 'TOKEN', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED'],
          data.map((t) => [t.id, t.name, t.role, t.project_id ?? '-', t.display, t.status, t.created_at, t.expires_at ?? 'never', t.last_used_at ?? '-']),
        ),
      );
    });

  tokens
    .command('revoke <id>')
    .description('Revoke an admin token; it stops working on its next request.')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const revoked = await client().request<TokenView>('POST', `/admin-tokens/${encodeURIComponent(id)}/revoke`);
      if (flags.json) return writeJson(io.stdout, revoked);
      writeLine(io.stdout, `Revoked admin token ${revoked.id} (${revoked.display}).`);
    });
}
