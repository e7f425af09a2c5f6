import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { AdminClient } from '../admin-client.js';
import { readAll, writeJson, writeLine, type CliIo } from '../io.js';
import { renderTable } from '../table.js';
import { splitList } from '../scope-flags.js';
import { registerUpstreamKeyCommands } from './upstream-keys.js';
import { describeLink, registerUpstreamRotationCommands, rotationValue, type LinkView } from './upstream-rotation.js';

type UpstreamView = Record<string, unknown> & { id: string; name: string; provider: string; base_url: string; keys: Array<{ display: string }> };

interface AddFlags {
  name: string;
  provider: string;
  baseUrl?: string;
  apiVersion?: string;
  deployment?: string[];
  keyEnv?: string;
  default?: boolean;
  json?: boolean;
  serviceAccount?: string;
  project?: string;
  rotation?: string;
}

/**
 * Upstream keys come from an environment variable or stdin, never from argv: argv is visible to every user on
 * the machine (ps) and lands in shell history.
 */
async function readUpstreamKeys(io: CliIo, keyEnv: string | undefined): Promise<string[]> {
  if (keyEnv !== undefined) {
    const names = splitList(keyEnv);
    const keys = names.map((name) => {
      const value = io.env[name];
      if (!value) throw new KeywardenError('KW_USAGE', { message: `Environment variable ${name} is not set.` });
      return value.trim();
    });
    return keys;
  }
  if (io.stdin.isTTY) {
    throw new KeywardenError('KW_USAGE', { message: 'Pass the upstream key with --key-env VAR or on stdin (one key per line).' });
  }
  const keys = (await readAll(io.stdin)).split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (keys.length === 0) throw new KeywardenError('KW_USAGE', { message: 'No upstream key was given on stdin.' });
  return keys;
}

function parseDeployments(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (!pairs) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const [model, deployment] = pair.split('=');
    if (!model || !deployment) throw new KeywardenError('KW_USAGE', { message: `--deployment takes model=deployment, got "${pair}"` });
    out[model.trim()] = deployment.trim();
  }
  return out;
}

export function registerUpstreams(program: Command, io: CliIo): void {
  const upstreams = program.command('upstreams').description('Manage upstream providers and their vaulted keys.');
  const client = (): AdminClient => new AdminClient(io.env);
  registerUpstreamKeyCommands(upstreams, io, async (keyEnv) => {
    const keys = await readUpstreamKeys(io, keyEnv);
    if (keys.length !== 1) throw new KeywardenError('KW_USAGE', { message: 'Give exactly one key (one --key-env variable, or one line on stdin).' });
    return keys[0] as string;
  });
  registerUpstreamRotationCommands(upstreams, io);

  upstreams
    .command('add')
    .description('Add an upstream; its key is read from --key-env VAR or stdin and stored encrypted.')
    .requiredOption('--name <name>', 'upstream name')
    .requiredOption('--provider <provider>', 'openai | azure | openai-compatible')
    .option('--base-url <url>', 'provider base URL (OpenAI default: https://api.openai.com/v1)')
    .option('--api-version <version>', 'Azure OpenAI api-version')
    .option('--deployment <model=deployment>', 'Azure deployment for a model (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--key-env <vars>', 'environment variable(s) holding the key(s), comma-separated')
    .option('--default', 'use for keys that name no upstream')
    .option('--service-account <name>', 'create this OpenAI service account (needs --project) and vault its key: no key to pass')
    .option('--project <id>', 'OpenAI project id for --service-account')
    .option('--rotation <period>', 'with --service-account: rotate on a schedule, e.g. 30d')
    .option('--json', 'print JSON')
    .action(async (flags: AddFlags) => {
      if (flags.serviceAccount !== undefined) return addWithServiceAccount(flags);
      if (flags.project !== undefined || flags.rotation !== undefined) {
        throw new KeywardenError('KW_USAGE', { message: '--project and --rotation go with --service-account (or use upstreams link NAME --rotation 30d).' });
      }
      const keys = await readUpstreamKeys(io, flags.keyEnv);
      const created = await client().request<UpstreamView>('POST', '/upstreams', {
        name: flags.name,
        provider: flags.provider,
        ...(flags.baseUrl === undefined ? {} : { base_url: flags.baseUrl }),
        ...(flags.apiVersion === undefined ? {} : { api_version: flags.apiVersion }),
        ...(flags.deployment === undefined ? {} : { deployments: parseDeployments(flags.deployment) }),
        ...(flags.default ? { default: true } : {}),
        keys,
      });
      if (flags.json) return writeJson(io.stdout, created);
      writeLine(io.stdout, `Added upstream ${created.name} (${created.id}) with ${created.keys.length} key(s): ${created.keys.map((k) => k.display).join(', ')}`);
    });

  async function addWithServiceAccount(flags: AddFlags): Promise<void> {
    if (flags.project === undefined) throw new KeywardenError('KW_USAGE', { message: '--service-account needs --project proj_…' });
    if (flags.keyEnv !== undefined) throw new KeywardenError('KW_USAGE', { message: '--service-account creates the key at OpenAI: drop --key-env.' });
    if (flags.provider === 'azure') throw new KeywardenError('KW_USAGE', { message: '--service-account is for OpenAI upstreams.' });
    const created = await client().request<UpstreamView & { provider_link: LinkView }>('POST', '/upstreams/service-accounts', {
      name: flags.name,
      project_id: flags.project,
      service_account_name: flags.serviceAccount,
      provider: flags.provider,
      ...(flags.baseUrl === undefined ? {} : { base_url: flags.baseUrl }),
      ...(flags.default ? { default: true } : {}),
      ...(flags.rotation === undefined ? {} : { rotation: rotationValue(flags.rotation) }),
    });
    if (flags.json) return writeJson(io.stdout, created);
    writeLine(io.stdout, `Added upstream ${created.name} (${created.id}) with ${created.keys.map((k) => k.display).join(', ')}, ${describeLink(created.provider_link)}.`);
  }

  upstreams
    .command('list')
    .description('List upstreams (keys shown as last 4 characters only).')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const { data } = await client().request<{ data: UpstreamView[] }>('GET', '/upstreams');
      if (flags.json) return writeJson(io.stdout, data);
      writeLine(
        io.stdout,
        renderTable(
          ['ID', 'NAME', 'PROVIDER', 'BASE URL', 'KEYS', 'DEFAULT'],
          data.map((u) => [u.id, u.name, u.provider, u.base_url, u.keys.map((k) => k.display).join(','), u.default ? 'yes' : '']),
        ),
      );
    });

  upstreams
    .command('update <ref>')
    .description('Change an upstream (by id or name): name, base URL, Azure deployments or api-version, or make it the default.')
    .option('--name <name>', 'new name')
    .option('--base-url <url>', 'new provider base URL')
    .option('--api-version <version>', 'Azure OpenAI api-version')
    .option('--deployment <model=deployment>', 'Azure deployment for a model (repeatable; replaces the whole map)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--default', 'make it the default upstream (for keys that name none)')
    .option('--rotation <period>', 'rotate at the provider on a schedule, e.g. 30d, or off (links the service account if needed)')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: Omit<AddFlags, 'name' | 'provider' | 'keyEnv'> & { name?: string }) => {
      let link: LinkView | null = null;
      if (flags.rotation !== undefined) {
        link = await client().request<LinkView>('PUT', `/upstreams/${encodeURIComponent(ref)}/provider`, { rotation: rotationValue(flags.rotation) });
      }
      const body = {
        ...(flags.name === undefined ? {} : { name: flags.name }),
        ...(flags.baseUrl === undefined ? {} : { base_url: flags.baseUrl }),
        ...(flags.apiVersion === undefined ? {} : { api_version: flags.apiVersion }),
        ...(flags.deployment === undefined ? {} : { deployments: parseDeployments(flags.deployment) }),
        ...(flags.default ? { default: true } : {}),
      };
      if (Object.keys(body).length === 0 && link) {
        if (flags.json) return writeJson(io.stdout, link);
        return writeLine(io.stdout, `Upstream ${ref}: ${describeLink(link)}.`);
      }
      if (Object.keys(body).length === 0) {
        throw new KeywardenError('KW_USAGE', { message: 'Nothing to update: pass --name, --base-url, --api-version, --deployment, --default or --rotation.' });
      }
      const updated = await client().request<UpstreamView>('PATCH', `/upstreams/${encodeURIComponent(ref)}`, body);
      if (flags.json) return writeJson(io.stdout, updated);
      writeLine(io.stdout, `Updated upstream ${updated.name} (${updated.id})${updated.default ? ', the default' : ''}.`);
    });

  upstreams
    .command('remove <ref>')
    .description('Remove an upstream (by id or name) and its vaulted keys; refused while keys use it unless --reassign-to moves them.')
    .option('--reassign-to <ref>', 'move keys bound to it (and the default) to this upstream, in the same step')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: { reassignTo?: string; json?: boolean }) => {
      const query = flags.reassignTo === undefined ? '' : `?${new URLSearchParams({ reassign_to: flags.reassignTo }).toString()}`;
      const removed = await client().request<UpstreamView & { reassigned: { moved_key_ids: string[]; default_moved: boolean } | null }>(
        'DELETE',
        `/upstreams/${encodeURIComponent(ref)}${query}`,
      );
      if (flags.json) return writeJson(io.stdout, removed);
      writeLine(io.stdout, `Removed upstream ${removed.name} (${removed.id}).`);
      if (removed.reassigned) {
        const moved = removed.reassigned.moved_key_ids.length;
        writeLine(io.stdout, `Moved ${moved} key(s) to ${flags.reassignTo ?? ''}${removed.reassigned.default_moved ? ', which is now the default' : ''}.`);
      }
    });
}
