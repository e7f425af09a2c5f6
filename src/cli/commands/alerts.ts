import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import type { AlertView } from '../../monitor/alert-view.js';
import { parseDuration } from '../../util/duration.js';
import { AdminClient } from '../admin-client.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { renderTable } from '../table.js';

type DeliveryView = { id: string; alert_id: string; sink: string; status: string; attempts: number; last_error: string | null; updated_at: string };

/** `24h` means 24 hours ago; an ISO date is passed through. */
function sinceFlag(value: string, name: string): string {
  const ago = parseDuration(value);
  if (ago !== null) return new Date(Date.now() - ago).toISOString();
  if (Number.isNaN(Date.parse(value))) throw new KeywardenError('KW_USAGE', { message: `${name}: expected a duration (24h) or an ISO date` });
  return value;
}

interface ListFlags {
  since?: string;
  until?: string;
  detector?: string;
  key?: string;
  project?: string;
  status?: string;
  limit?: string;
  json?: boolean;
}

export function registerAlerts(program: Command, io: CliIo): void {
  const alerts = program.command('alerts').description('Alerts raised by monitoring.');
  const client = (): AdminClient => new AdminClient(io.env);

  alerts
    .command('list')
    .description('List alerts, newest first.')
    .option('--since <when>', 'only alerts after this (duration ago such as 24h, or ISO date)')
    .option('--until <when>', 'only alerts before this')
    .option('--detector <name>', 'only this detector (e.g. volume_spike, key_probing)')
    .option('--key <key>', 'only alerts about this key (id or name)')
    .option('--project <project>', "only alerts about this project (id or name): its budget and its keys' alerts")
    .option('--status <status>', 'open, acknowledged or all', 'all')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON')
    .action(async (flags: ListFlags) => {
      const params = new URLSearchParams({ status: flags.status ?? 'all', limit: flags.limit ?? '100' });
      if (flags.since) params.set('since', sinceFlag(flags.since, '--since'));
      if (flags.until) params.set('until', sinceFlag(flags.until, '--until'));
      if (flags.detector) params.set('detector', flags.detector);
      if (flags.key) params.set('key_id', flags.key);
      if (flags.project) params.set('project', flags.project);
      const { data } = await client().request<{ data: Array<AlertView & { key_name?: string | null; project_name?: string | null }> }>('GET', `/alerts?${params.toString()}`);
      if (flags.json) return writeJson(io.stdout, data);
      if (data.length === 0) return writeLine(io.stdout, 'No alerts.');
      writeLine(
        io.stdout,
        renderTable(
          ['ID', 'CREATED', 'SEVERITY', 'DETECTOR', 'PROJECT', 'KEY', 'SUBJECT', 'COUNT', 'ACTIONS', 'ACK', 'TITLE'],
          data.map((a) => [
            a.id,
            a.created_at,
            a.severity,
            a.detector,
            a.project_name ?? '-',
            a.key_id === null ? '-' : a.key_name ? `${a.key_name} (${a.key_id})` : a.key_id,
            a.subject,
            a.occurrences,
            [a.actions.notified ? 'notified' : '', a.actions.suspended ? 'suspended' : ''].filter(Boolean).join('+') || '-',
            a.acknowledged_at === null ? 'no' : 'yes',
            a.title,
          ]),
        ),
      );
    });

  alerts
    .command('ack <id>')
    .description('Acknowledge an alert (recorded in the audit log).')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const alert = await client().request<AlertView>('POST', `/alerts/${encodeURIComponent(id)}/ack`, {});
      if (flags.json) return writeJson(io.stdout, alert);
      writeLine(io.stdout, `Acknowledged ${alert.id} (${alert.detector}: ${alert.subject}) by ${alert.acknowledged_by ?? 'unknown'}.`);
    });

  alerts
    .command('deliveries')
    .description('Alert deliveries to webhooks, Slack and email; --failed shows the ones that never arrived.')
    .option('--failed', 'only failed deliveries')
    .option('--json', 'print JSON')
    .action(async (flags: { failed?: boolean; json?: boolean }) => {
      const query = flags.failed ? '?status=failed' : '';
      const { data } = await client().request<{ data: DeliveryView[] }>('GET', `/alerts/deliveries${query}`);
      if (flags.json) return writeJson(io.stdout, data);
      writeLine(
        io.stdout,
        renderTable(
          ['ID', 'ALERT', 'SINK', 'STATUS', 'ATTEMPTS', 'LAST ERROR', 'UPDATED'],
          data.map((d) => [d.id, d.alert_id, d.sink, d.status, d.attempts, d.last_error, d.updated_at]),
        ),
      );
    });
}
