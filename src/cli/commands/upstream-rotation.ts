import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { AdminClient } from '../admin-client.js';
import { writeJson, writeLine, type CliIo } from '../io.js';

interface RotationView {
  upstream: string;
  upstream_id: string;
  added_display: string;
  added_provider_key_id: string;
  in_flight_at_removal: number;
  deleted_provider_key_ids: string[];
  left_at_provider: Array<{ provider_key_id: string | null; reason: string }>;
}

export interface LinkView {
  project_id: string | null;
  service_account_id: string | null;
  rotation_ms: number | null;
  pending_deletes: string[];
}

const DAY_MS = 86_400_000;

export function describeLink(link: LinkView): string {
  const period = link.rotation_ms === null ? 'no scheduled rotation' : `rotated every ${Math.round((link.rotation_ms / DAY_MS) * 10) / 10} day(s)`;
  return `service account ${link.service_account_id ?? '?'} in project ${link.project_id ?? '?'}, ${period}`;
}

/** `--rotation 30d` or `off` (validated by the server, which owns the rule). */
export function rotationValue(text: string): string | null {
  return text === 'off' ? null : text;
}

function drainMs(seconds: string | undefined): number | undefined {
  if (seconds === undefined) return undefined;
  const value = Number(seconds);
  if (!Number.isFinite(value) || value < 0 || value > 3600) throw new KeywardenError('KW_USAGE', { message: '--drain-timeout takes 0 to 3600 seconds' });
  return Math.round(value * 1000);
}

/** `upstreams rotate | link | unlink`: rotation at the provider for upstreams backed by an OpenAI service account. */
export function registerUpstreamRotationCommands(upstreams: Command, io: CliIo): void {
  const client = (): AdminClient => new AdminClient(io.env);
  const path = (ref: string, rest: string): string => `/upstreams/${encodeURIComponent(ref)}${rest}`;

  upstreams
    .command('rotate <ref>')
    .description('Rotate an upstream key at OpenAI: new service-account key, switch, let requests on the old key finish, delete the old key.')
    .option('--drain-timeout <seconds>', 'longest wait for requests on the old key before it is deleted anyway (default 300)')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: { drainTimeout?: string; json?: boolean }) => {
      const drain = drainMs(flags.drainTimeout);
      const outcome = await client().request<RotationView>('POST', path(ref, '/rotate'), drain === undefined ? {} : { drain_timeout_ms: drain });
      if (flags.json) return writeJson(io.stdout, outcome);
      writeLine(io.stdout, `Rotated upstream ${outcome.upstream} (${outcome.upstream_id}) to ${outcome.added_display} (${outcome.added_provider_key_id}); deleted at OpenAI: ${outcome.deleted_provider_key_ids.join(', ') || 'none'}.`);
      if (outcome.in_flight_at_removal > 0) writeLine(io.stderr, `warning: ${outcome.in_flight_at_removal} request(s) were still on the old key at the drain timeout.`);
      for (const left of outcome.left_at_provider) writeLine(io.stderr, `warning: old key ${left.provider_key_id ?? '(unidentified)'} is still live at OpenAI: ${left.reason}`);
    });

  upstreams
    .command('link <ref>')
    .description('Link an upstream to the OpenAI service account its key belongs to (found from the key unless given), so it can be rotated.')
    .option('--project <id>', 'OpenAI project id (proj_…)')
    .option('--service-account <id>', 'OpenAI service account id (svc_acct_…)')
    .option('--rotation <period>', 'rotate on a schedule, e.g. 30d (or off)')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: { project?: string; serviceAccount?: string; rotation?: string; json?: boolean }) => {
      const link = await client().request<LinkView>('PUT', path(ref, '/provider'), {
        ...(flags.project === undefined ? {} : { project_id: flags.project }),
        ...(flags.serviceAccount === undefined ? {} : { service_account_id: flags.serviceAccount }),
        ...(flags.rotation === undefined ? {} : { rotation: rotationValue(flags.rotation) }),
      });
      if (flags.json) return writeJson(io.stdout, link);
      writeLine(io.stdout, `Linked upstream ${ref} to ${describeLink(link)}.`);
    });

  upstreams
    .command('unlink <ref>')
    .description('Forget the service-account link (no more rotation at the provider).')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: { json?: boolean }) => {
      const link = await client().request<LinkView>('DELETE', path(ref, '/provider'));
      if (flags.json) return writeJson(io.stdout, link);
      writeLine(io.stdout, `Unlinked upstream ${ref}.`);
    });
}
