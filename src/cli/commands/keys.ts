import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { parseModelRule, type KeyLimits, type ModelRule } from '../../limits/schema.js';
import { applySharedLimitFlags, positiveFlag } from '../limit-flags.js';
import { AdminClient } from '../admin-client.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { renderTable } from '../table.js';
import { endpointsFlag, expiresFlag, ipFlag, modelsFlag, splitList, warnScopeMismatch } from '../scope-flags.js';
import { formatUsd } from '../../util/money.js';
import { registerCanaryFile } from './canary-file.js';
import { listAllKeys } from '../list-all-keys.js';

type KeyView = Record<string, unknown> & { id: string; name: string; display: string; status: string };
type ListedKey = KeyView & { spend_today_usd: number; spend_month_usd: number; last_used_at: string | null };

interface ScopeFlags {
  rpm?: string;
  rpd?: string;
  tpm?: string;
  concurrency?: string;
  maxOutputTokens?: string;
  budget?: string[];
  modelRule?: ModelRule[];
  denyModel?: ModelRule[];
  timeZone?: string;
  outputCap?: string;
  name?: string;
  models?: string;
  endpoints?: string;
  ip?: string[];
  expires?: string;
  upstream?: string;
  fallback?: string[];
  maxBody?: string;
  objectsFrom?: string;
  project?: string;
  json?: boolean;
  canary?: boolean;
}

function scopeBody(flags: ScopeFlags, currentLimits: KeyLimits, io: CliIo): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const warn = (text: string): void => writeLine(io.stderr, text);
  const limits = limitsFrom(flags, currentLimits);
  if (limits !== undefined) body.limits = limits;
  if (flags.canary === true) body.canary = true;
  if (flags.name !== undefined) body.name = flags.name;
  const models = flags.models === undefined ? undefined : modelsFlag(flags.models, warn);
  const endpoints = flags.endpoints === undefined ? undefined : endpointsFlag(flags.endpoints);
  warnScopeMismatch(models, endpoints, warn);
  // '*' alone is the explicit spelling of "every model", stored as the empty list the gateway reads that way.
  if (models !== undefined) body.models = models.length === 1 && models[0] === '*' ? [] : models;
  if (endpoints !== undefined) body.endpoints = endpoints;
  if (flags.ip !== undefined) body.ip_allowlist = ipFlag(flags.ip);
  if (flags.expires !== undefined) body.expires = expiresFlag(flags.expires, Date.now());
  if (flags.upstream !== undefined) body.upstream = flags.upstream;
  if (flags.fallback !== undefined) body.fallbacks = flags.fallback.flatMap((v) => splitList(v));
  if (flags.objectsFrom !== undefined) body.objects_from = splitList(flags.objectsFrom);
  // `--project ''` (or none) takes the key out of its project.
  if (flags.project !== undefined) body.project = flags.project === '' || flags.project === 'none' ? null : flags.project;
  if (flags.maxBody !== undefined) {
    const bytes = Number(flags.maxBody);
    if (!Number.isInteger(bytes) || bytes <= 0) throw new KeywardenError('KW_USAGE', { message: '--max-body takes a positive number of bytes' });
    body.max_body_bytes = bytes;
  }
  return body;
}

/** Limits named on the command line, merged over `base` (the key's current limits on update). */
function limitsFrom(flags: ScopeFlags, base: KeyLimits): KeyLimits | undefined {
  const next: KeyLimits = { ...base };
  const set = <K extends keyof KeyLimits>(name: K, value: KeyLimits[K] | undefined): void => {
    if (value !== undefined) next[name] = value;
  };
  applySharedLimitFlags(flags, next);
  set('max_output_tokens', positiveFlag(flags.maxOutputTokens, '--max-output-tokens'));
  // Both options fill the same ordered array (see withScopeFlags).
  const rules = flags.modelRule ?? flags.denyModel;
  if (rules) next.model_rules = rules;
  if (flags.outputCap !== undefined) {
    if (flags.outputCap !== 'inject' && flags.outputCap !== 'reject') throw new KeywardenError('KW_USAGE', { message: '--output-cap takes inject or reject' });
    next.output_cap = flags.outputCap;
  }
  return JSON.stringify(next) === JSON.stringify(base) ? undefined : next;
}

function withScopeFlags(command: Command): Command {
  // --model-rule and --deny-model append to one list in command-line order, because the first match wins.
  const rules: ModelRule[] = [];
  const addRule = (kind: 'limit' | 'deny') => (value: string): ModelRule[] => {
    const rule = kind === 'deny' ? { match: value, deny: true } : parseModelRule(value);
    if (!rule) throw new KeywardenError('KW_USAGE', { message: `--model-rule takes GLOB:rpm=N[,rpd=N][,tpm=N], got "${value}"` });
    rules.push(rule);
    return rules;
  };
  return command
    .option('--rpm <n>', 'requests per minute')
    .option('--rpd <n>', 'requests per day')
    .option('--tpm <n>', 'tokens per minute')
    .option('--concurrency <n>', 'requests in flight at once')
    .option('--max-output-tokens <n>', 'maximum output tokens per request')
    .option('--budget <amount/period>', 'USD budget, e.g. 5/day or 100/month (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--model-rule <glob:limits>', "per-model limits, e.g. 'gpt-4*:rpm=10' (repeatable, first match wins)", addRule('limit'))
    .option('--deny-model <glob>', "deny models, e.g. 'dall-e*' (repeatable)", addRule('deny'))
    .option('--time-zone <iana>', 'time zone for budget periods (default UTC)')
    .option('--output-cap <mode>', 'no max_tokens on a budgeted request: inject (default) or reject')
    .option('--models <globs>', "allowed models, comma-separated globs (e.g. 'gpt-4o-mini,gpt-4.1*'), or '*' for all")
    .option('--endpoints <groups>', 'allowed endpoint groups, comma-separated (e.g. chat,embeddings)')
    .option('--ip <cidr>', "allowed client network (repeatable or comma-separated), or 'any' for no restriction", (v: string, prev: string[] = []) => [...prev, v])
    .option('--expires <when>', "expiry: a duration such as 30d, an ISO date, or 'never'")
    .option('--upstream <name>', 'upstream to use (default: the only or default upstream)')
    .option(
      '--fallback <upstream>',
      "fallback upstream, tried in order on connect errors, 5xx and 429 (repeatable; replaces the list; '' for none)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--max-body <bytes>', 'maximum request body size')
    .option('--project <name|id>', "the project whose shared limits apply on top of the key's ('none' to leave it)")
    .option('--objects-from <key ids>', "also use the stored objects (files, responses, …) of these keys, comma-separated ('' for none)")
    .option('--json', 'print JSON');
}

function printKey(io: CliIo, key: KeyView): void {
  const rows: Array<[string, unknown]> = [
    ['id', key.id],
    ['name', key.name],
    ['key', key.display],
    ['status', key.status],
    ['project', key.project_id ?? '(none)'],
    ...(key.canary === true ? [['canary', 'yes: any use raises a critical alert'] as [string, unknown]] : []),
    ['models', (key.models as string[]).join(', ') || '(any)'],
    ['endpoints', (key.endpoints as string[]).join(', ')],
    ['ip allowlist', (key.ip_allowlist as string[]).join(', ') || '(any)'],
    ['expires', key.expires_at ?? 'never'],
    ['created', key.created_at],
  ];
  const limits = key.limits as KeyLimits;
  const rateParts = (['rpm', 'rpd', 'tpm', 'concurrency', 'max_output_tokens'] as const)
    .filter((name) => limits[name] !== undefined)
    .map((name) => `${name}=${limits[name]}`);
  if (rateParts.length > 0) rows.push(['limits', rateParts.join(' ')]);
  for (const rule of limits.model_rules ?? []) {
    rows.push(['model rule', rule.deny ? `${rule.match}: deny` : `${rule.match}: ${(['rpm', 'rpd', 'tpm'] as const).filter((n) => rule[n]).map((n) => `${n}=${rule[n]}`).join(' ')}`]);
  }
  const budgets = (key.budgets as Array<{ period: string; limit_usd: number; spent_usd: number }> | undefined) ?? [];
  for (const budget of budgets) {
    rows.push([`budget/${budget.period}`, `${formatUsd(budget.spent_usd)} of ${formatUsd(budget.limit_usd)} (${((budget.spent_usd / budget.limit_usd) * 100).toFixed(1)}%)`]);
  }
  for (const [label, value] of rows) writeLine(io.stdout, `${label.padEnd(13)} ${String(value)}`);
}

export function registerKeys(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('Manage virtual keys. A key is named by its id (key_…) or its name.');
  const client = (): AdminClient => new AdminClient(io.env);

  withScopeFlags(
    keys
      .command('create')
      .description('Create a virtual key; its secret is shown once.')
      .requiredOption('--name <name>', 'key name')
      .option('--canary', 'a honeytoken: any use raises a critical alert and is refused as out of quota'),
  ).action(
    async (flags: ScopeFlags) => {
      const created = await client().request<KeyView & { key: string }>('POST', '/keys', scopeBody(flags, {}, io));
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
    .option('--project <name|id>', "only this project's keys ('none': keys in no project)")
    .option('--json', 'print JSON')
    .action(async (flags: { project?: string; json?: boolean }) => {
      const api = client();
      const [{ data: all }, { data: projects }] = await Promise.all([
        listAllKeys<ListedKey>(api).then((data) => ({ data })),
        api.request<{ data: Array<{ id: string; name: string }> }>('GET', '/projects'),
      ]);
      const projectName = new Map(projects.map((p) => [p.id, p.name]));
      let wanted: string | null | undefined;
      if (flags.project !== undefined) {
        wanted = flags.project === 'none' || flags.project === '' ? null : projects.find((p) => p.id === flags.project || p.name === flags.project)?.id;
        if (wanted === undefined) throw new KeywardenError('KW_USAGE', { message: `--project: no project with id or name "${flags.project}"` });
      }
      // Grouped by project (keys in none last), in the server's order within each.
      const data = all.filter((k) => wanted === undefined || (k.project_id ?? null) === wanted);
      const order = (k: ListedKey): string => (typeof k.project_id === 'string' ? (projectName.get(k.project_id) ?? k.project_id) : '\uffff');
      data.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
      if (flags.json) return writeJson(io.stdout, data);
      writeLine(
        io.stdout,
        renderTable(
          ['PROJECT', 'ID', 'NAME', 'KEY', 'STATUS', 'MODELS', 'EXPIRES', 'SPEND TODAY', 'SPEND MONTH', 'LAST USED'],
          data.map((k) => [
            typeof k.project_id === 'string' ? (projectName.get(k.project_id) ?? k.project_id) : '-',
            k.id,
            typeof k.parent_id === 'string' ? `${k.name} (child of ${k.parent_id})` : k.canary === true ? `${k.name} (canary)` : k.name,
            k.display,
            k.status,
            (k.models as string[]).join(',') || '*',
            (k.expires_at as string | null) ?? 'never',
            formatUsd(k.spend_today_usd),
            formatUsd(k.spend_month_usd),
            k.last_used_at ?? 'never',
          ]),
        ),
      );
    });

  keys
    .command('show <key>')
    .description('Show one key.')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const key = await client().request<KeyView>('GET', `/keys/${encodeURIComponent(id)}`);
      if (flags.json) writeJson(io.stdout, key);
      else printKey(io, key);
    });

  withScopeFlags(keys.command('update <key>').description("Change a key's name, scopes or expiry.").option('--name <name>', 'new name')).action(
    async (id: string, flags: ScopeFlags) => {
      const api = client();
      const current = await api.request<KeyView>('GET', `/keys/${encodeURIComponent(id)}`);
      const key = await api.request<KeyView>('PATCH', `/keys/${encodeURIComponent(current.id)}`, scopeBody(flags, current.limits as KeyLimits, io));
      if (flags.json) writeJson(io.stdout, key);
      else printKey(io, key);
    },
  );

  keys
    .command('rotate <key>')
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
    .command('suspend <key>')
    .description('Suspend a key: it answers 403 key_suspended with the reason until unsuspended.')
    .option('--reason <text>', 'why (shown to the key holder)')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { reason?: string; json?: boolean }) => {
      const key = await client().request<KeyView>('POST', `/keys/${encodeURIComponent(id)}/suspend`, flags.reason ? { reason: flags.reason } : {});
      if (flags.json) writeJson(io.stdout, key);
      else writeLine(io.stdout, `Suspended ${key.id} (${key.display}).`);
    });

  keys
    .command('unsuspend <key>')
    .description('Lift a suspension (manual or automatic).')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const key = await client().request<KeyView>('POST', `/keys/${encodeURIComponent(id)}/unsuspend`, {});
      if (flags.json) writeJson(io.stdout, key);
      else writeLine(io.stdout, `Unsuspended ${key.id} (${key.display}); it is ${key.status}.`);
    });

  keys
    .command('revoke <key>')
    .description('Revoke a key; it stops working on the next request.')
    .option('--children', "also revoke the key's ephemeral child keys (they stop with the parent anyway)")
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean; children?: boolean }) => {
      const query = flags.children === true ? '?children=true' : '';
      const key = await client().request<KeyView>('POST', `/keys/${encodeURIComponent(id)}/revoke${query}`, {});
      if (flags.json) writeJson(io.stdout, key);
      else writeLine(io.stdout, `Revoked ${key.id} (${key.display}).`);
    });

  registerCanaryFile(keys, io, client);
}
