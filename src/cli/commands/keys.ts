import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { AdminClient } from '../admin-client.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { renderTable } from '../table.js';

type KeyView = Record<string, unknown> & { id: string; name: string; display: string; status: string };

const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);

interface ScopeFlags {
  name?: string;
  models?: string;
  endpoints?: string;
  ip?: string[];
  expires?: string;
  upstream?: string;
  maxBody?: string;
  json?: boolean;
}

function scopeBody(flags: ScopeFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (flags.name !== undefined) body.name = flags.name;
  if (flags.models !== undefined) body.models = list(flags.models);
  if (flags.endpoints !== undefined) body.endpoints = list(flags.endpoints);
  if (flags.ip !== undefined) body.ip_allowlist = flags.ip.flatMap(list);
  if (flags.expires !== undefined) body.expires = flags.expires === 'never' ? null : flags.expires;
  if (flags.upstream !== undefined) body.upstream = flags.upstream;
  if (flags.maxBody !== undefined) {
    const bytes = Number(flags.maxBody);
    if (!Number.isInteger(bytes) || bytes <= 0) throw new KeywardenError('KW_USAGE', { message: '--max-body takes a positive number of bytes' });
    body.max_body_bytes = bytes;
  }
  return body;
}

function withScopeFlags(command: Command): Command {
  return command
    .option('--models <globs>', "allowed models, comma-separated globs (e.g. 'gpt-4o-mini,gpt-4.1*')")
    .option('--endpoints <groups>', 'allowed endpoint groups, comma-separated (e.g. chat,embeddings)')
    .option('--ip <cidr>', 'allowed client network (repeatable or comma-separated)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--expires <when>', "expiry: a duration such as 30d, an ISO date, or 'never'")
    .option('--upstream <name>', 'upstream to use (default: the only or default upstream)')
    .option('--max-body <bytes>', 'maximum request body size')
    .option('--json', 'print JSON');
}

function printKey(io: CliIo, key: KeyView): void {
  const rows: Array<[string, unknown]> = [
    ['id', key.id],
    ['name', key.name],
    ['key', key.display],
    ['status', key.status],
    ['models', (key.models as string[]).join(', ') || '(any)'],
    ['endpoints', (key.endpoints as string[]).join(', ')],
    ['ip allowlist', (key.ip_allowlist as string[]).join(', ') || '(any)'],
    ['expires', key.expires_at ?? 'never'],
    ['created', key.created_at],
  ];
  for (const [label, value] of rows) writeLine(io.stdout, `${label.padEnd(13)} ${String(value)}`);
}

export function registerKeys(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('Manage virtual keys.');
  const client = (): AdminClient => new AdminClient(io.env);

  withScopeFlags(keys.command('create').description('Create a virtual key; its secret is shown once.').requiredOption('--name <name>', 'key name')).action(
    async (flags: ScopeFlags) => {
      const created = await client().request<KeyView & { key: string }>('POST', '/keys', scopeBody(flags));
      if (flags.json) {
        writeJson(io.stdout, created);
        return;
      }
      printKey(io, created);
      writeLine(io.stdout, '');
      writeLine(io.stdout, 'Secret (shown once; store it now):');
      writeLine(io.stdout, `  ${created.key}`);
    },
  );

  keys
    .command('list')
    .description('List virtual keys.')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const { data } = await client().request<{ data: KeyView[] }>('GET', '/keys');
      if (flags.json) return writeJson(io.stdout, data);
      writeLine(
        io.stdout,
        renderTable(
          ['ID', 'NAME', 'KEY', 'STATUS', 'MODELS', 'EXPIRES'],
          data.map((k) => [k.id, k.name, k.display, k.status, (k.models as string[]).join(',') || '*', (k.expires_at as string | null) ?? 'never']),
        ),
      );
    });

  keys
    .command('show <id>')
    .description('Show one key.')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const key = await client().request<KeyView>('GET', `/keys/${encodeURIComponent(id)}`);
      if (flags.json) writeJson(io.stdout, key);
      else printKey(io, key);
    });

  withScopeFlags(keys.command('update <id>').description("Change a key's name, scopes or expiry.").option('--name <name>', 'new name')).action(
    async (id: string, flags: ScopeFlags) => {
      const key = await client().request<KeyView>('PATCH', `/keys/${encodeURIComponent(id)}`, scopeBody(flags));
      if (flags.json) writeJson(io.stdout, key);
      else printKey(io, key);
    },
  );

  keys
    .command('rotate <id>')
    .description('Issue a new secret under the same id; the old one works for the grace period (default 0).')
    .option('--grace <duration>', 'how long the old secret keeps working, e.g. 1h')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { grace?: string; json?: boolean }) => {
      const rotated = await client().request<KeyView & { key: string }>('POST', `/keys/${encodeURIComponent(id)}/rotate`, {
        ...(flags.grace === undefined ? {} : { grace: flags.grace }),
      });
      if (flags.json) return writeJson(io.stdout, rotated);
      writeLine(io.stdout, `Rotated ${rotated.id}. New secret (shown once):`);
      writeLine(io.stdout, `  ${rotated.key}`);
    });

  keys
    .command('revoke <id>')
    .description('Revoke a key; it stops working on the next request.')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const key = await client().request<KeyView>('POST', `/keys/${encodeURIComponent(id)}/revoke`, {});
      if (flags.json) writeJson(io.stdout, key);
      else writeLine(io.stdout, `Revoked ${key.id} (${key.display}).`);
    });
}
