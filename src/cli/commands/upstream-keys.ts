import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { AdminClient } from '../admin-client.js';
import { writeJson, writeLine, type CliIo } from '../io.js';

type KeyChange = { id: string; name: string; keys: Array<{ id: string; display: string }> } & {
  added_key_id?: string | null;
  removed_key_ids?: string[];
  in_flight_at_removal?: number;
};

function drainMs(seconds: string | undefined): number | undefined {
  if (seconds === undefined) return undefined;
  const value = Number(seconds);
  if (!Number.isFinite(value) || value < 0 || value > 3600) throw new KeywardenError('KW_USAGE', { message: '--drain-timeout takes 0 to 3600 seconds' });
  return Math.round(value * 1000);
}

function reportRemoval(io: CliIo, change: KeyChange): void {
  const inFlight = change.in_flight_at_removal ?? 0;
  if (inFlight > 0) {
    writeLine(io.stderr, `warning: ${inFlight} request(s) were still running on the old key at the drain timeout; wait for them before revoking it at the provider.`);
  } else {
    writeLine(io.stdout, 'The old key is no longer used by keywarden; you can revoke it at the provider now.');
  }
}

/**
 * `upstreams rotate-key | add-key | remove-key`. The provider key is read like `upstreams add` reads it
 * (`readKey`: --key-env VAR or stdin), never from argv.
 */
export function registerUpstreamKeyCommands(upstreams: Command, io: CliIo, readKey: (keyEnv: string | undefined) => Promise<string>): void {
  const client = (): AdminClient => new AdminClient(io.env);
  const path = (ref: string, rest: string): string => `/upstreams/${encodeURIComponent(ref)}/keys${rest}`;

  upstreams
    .command('rotate-key <ref>')
    .description('Switch an upstream (by id or name) to a new provider key: new requests use it at once, requests on the old key finish, then the old key is removed.')
    .option('--key-env <var>', 'environment variable holding the new key (else read from stdin)')
    .option('--replace <key ids>', 'only replace these key ids (uk_…, comma-separated; default: every current key)')
    .option('--drain-timeout <seconds>', 'longest wait for requests on the old key (default 300)')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: { keyEnv?: string; replace?: string; drainTimeout?: string; json?: boolean }) => {
      const key = await readKey(flags.keyEnv);
      const drain = drainMs(flags.drainTimeout);
      const replace = flags.replace?.split(',').map((s) => s.trim()).filter(Boolean);
      const change = await client().request<KeyChange>('POST', path(ref, '/rotate'), {
        key,
        ...(replace && replace.length > 0 ? { replace } : {}),
        ...(drain === undefined ? {} : { drain_timeout_ms: drain }),
      });
      if (flags.json) return writeJson(io.stdout, change);
      writeLine(io.stdout, `Rotated upstream ${change.name} (${change.id}): now ${change.keys.map((k) => `${k.display} (${k.id})`).join(', ')}; removed ${(change.removed_key_ids ?? []).join(', ')}.`);
      reportRemoval(io, change);
    });

  upstreams
    .command('add-key <ref>')
    .description('Add a provider key to an upstream (by id or name); requests spread over its keys.')
    .option('--key-env <var>', 'environment variable holding the key (else read from stdin)')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: { keyEnv?: string; json?: boolean }) => {
      const change = await client().request<KeyChange>('POST', path(ref, ''), { key: await readKey(flags.keyEnv) });
      if (flags.json) return writeJson(io.stdout, change);
      writeLine(io.stdout, `Upstream ${change.name} (${change.id}) now has ${change.keys.map((k) => `${k.display} (${k.id})`).join(', ')}.`);
    });

  upstreams
    .command('remove-key <ref> <keyId>')
    .description('Remove one provider key (uk_…) from an upstream after its requests finish; never the last key.')
    .option('--drain-timeout <seconds>', 'longest wait for requests on the key (default 300)')
    .option('--json', 'print JSON')
    .action(async (ref: string, keyId: string, flags: { drainTimeout?: string; json?: boolean }) => {
      const drain = drainMs(flags.drainTimeout);
      const query = drain === undefined ? '' : `?drain_timeout_ms=${drain}`;
      const change = await client().request<KeyChange>('DELETE', path(ref, `/${encodeURIComponent(keyId)}${query}`));
      if (flags.json) return writeJson(io.stdout, change);
      writeLine(io.stdout, `Removed key ${keyId} from upstream ${change.name} (${change.id}).`);
      reportRemoval(io, change);
    });
}
