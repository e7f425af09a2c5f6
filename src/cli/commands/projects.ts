import type { Command } from 'commander';
import type { ProjectLimits } from '../../limits/project-limits.js';
import { formatUsd } from '../../util/money.js';
import { AdminClient } from '../admin-client.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { modelsFlag } from '../scope-flags.js';
import { applySharedLimitFlags } from '../limit-flags.js';
import { renderTable } from '../table.js';

interface ProjectView {
  id: string;
  name: string;
  models: string[];
  limits: ProjectLimits;
  key_count?: number;
  created_at: string;
  budgets?: Array<{ period: string; limit_usd: number; spent_usd: number }>;
}

interface ProjectFlags {
  name?: string;
  models?: string;
  rpm?: string;
  rpd?: string;
  tpm?: string;
  concurrency?: string;
  budget?: string[];
  timeZone?: string;
  json?: boolean;
}

/** The request body for create/update; limits are merged over the project's current ones (update). */
function projectBody(flags: ProjectFlags, current: ProjectLimits, io: CliIo): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (flags.name !== undefined) body.name = flags.name;
  if (flags.models !== undefined) {
    const models = modelsFlag(flags.models, (text) => writeLine(io.stderr, text));
    body.models = models.length === 1 && models[0] === '*' ? [] : models;
  }
  const next: ProjectLimits = { ...current };
  applySharedLimitFlags(flags, next);
  if (JSON.stringify(next) !== JSON.stringify(current)) body.limits = next;
  return body;
}

function withProjectFlags(command: Command): Command {
  return command
    .option('--models <globs>', "models the project's keys may use at most, comma-separated globs, or '*' for all")
    .option('--rpm <n>', 'requests per minute, shared by all keys of the project')
    .option('--rpd <n>', 'requests per day, shared')
    .option('--tpm <n>', 'tokens per minute, shared')
    .option('--concurrency <n>', 'requests in flight at once, shared')
    .option('--budget <amount/period>', 'shared USD budget, e.g. 50/month (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--time-zone <iana>', 'time zone for budget periods (default UTC)')
    .option('--json', 'print JSON');
}

function limitsText(limits: ProjectLimits): string {
  const parts = (['rpm', 'rpd', 'tpm', 'concurrency'] as const).filter((n) => limits[n] !== undefined).map((n) => `${n}=${limits[n]}`);
  for (const b of limits.budgets ?? []) parts.push(`${formatUsd(b.usd)}/${b.period}`);
  return parts.join(' ') || '-';
}

function printProject(io: CliIo, project: ProjectView): void {
  const rows: Array<[string, unknown]> = [
    ['id', project.id],
    ['name', project.name],
    ['models', project.models.join(', ') || '(any)'],
    ['limits', limitsText(project.limits)],
    ['keys', project.key_count ?? '-'],
    ['created', project.created_at],
  ];
  for (const budget of project.budgets ?? []) {
    rows.push([`budget/${budget.period}`, `${formatUsd(budget.spent_usd)} of ${formatUsd(budget.limit_usd)} (${((budget.spent_usd / budget.limit_usd) * 100).toFixed(1)}%)`]);
  }
  for (const [label, value] of rows) writeLine(io.stdout, `${label.padEnd(13)} ${String(value)}`);
}

/** `keywarden projects create|list|show|update|remove`: teams of keys with shared limits. */
export function registerProjects(program: Command, io: CliIo): void {
  const projects = program.command('projects').description("Projects (teams): shared budgets, rate limits and allowed models on top of each key's.");
  const client = (): AdminClient => new AdminClient(io.env);
  const path = (ref: string): string => `/projects/${encodeURIComponent(ref)}`;

  withProjectFlags(projects.command('create').description('Create a project.').requiredOption('--name <name>', 'project name')).action(async (flags: ProjectFlags) => {
    const created = await client().request<ProjectView>('POST', '/projects', projectBody(flags, {}, io));
    if (flags.json) return writeJson(io.stdout, created);
    printProject(io, created);
  });

  projects
    .command('list')
    .description('List projects.')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const { data } = await client().request<{ data: ProjectView[] }>('GET', '/projects');
      if (flags.json) return writeJson(io.stdout, data);
      writeLine(
        io.stdout,
        renderTable(
          ['ID', 'NAME', 'KEYS', 'MODELS', 'LIMITS', 'CREATED'],
          data.map((p) => [p.id, p.name, p.key_count ?? 0, p.models.join(',') || '*', limitsText(p.limits), p.created_at]),
        ),
      );
    });

  projects
    .command('show <project>')
    .description('Show one project (by id or name) with its budget spend.')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: { json?: boolean }) => {
      const project = await client().request<ProjectView>('GET', path(ref));
      if (flags.json) return writeJson(io.stdout, project);
      printProject(io, project);
    });

  withProjectFlags(projects.command('update <project>').description("Change a project's name, models or limits; applies from the next request.").option('--name <name>', 'new name')).action(
    async (ref: string, flags: ProjectFlags) => {
      const api = client();
      const current = await api.request<ProjectView>('GET', path(ref));
      const updated = await api.request<ProjectView>('PATCH', path(current.id), projectBody(flags, current.limits, io));
      if (flags.json) return writeJson(io.stdout, updated);
      printProject(io, updated);
    },
  );

  projects
    .command('remove <project>')
    .description('Remove a project (refused while live keys or admin tokens belong to it).')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: { json?: boolean }) => {
      const removed = await client().request<ProjectView>('DELETE', path(ref));
      if (flags.json) return writeJson(io.stdout, removed);
      writeLine(io.stdout, `Removed project ${removed.id} (${removed.name}).`);
    });
}
