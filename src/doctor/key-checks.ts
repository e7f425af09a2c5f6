import type { KeyLimits } from '../limits/schema.js';
import { ALL_ENDPOINT_GROUPS, OPT_IN_ENDPOINT_GROUPS, endpointGroupOf, matchesModelGlob } from '../policy/index.js';
import type { AdminTokenRecord, UpstreamRecord, VirtualKeyRecord } from '../store/index.js';
import type { DoctorFinding } from './finding.js';

const DAY_MS = 86_400_000;
const SENSITIVE: readonly string[] = OPT_IN_ENDPOINT_GROUPS;

export interface KeyUse {
  models: Set<string>;
  groups: Set<string>;
}

const label = (key: VirtualKeyRecord): string => `"${key.name}" (${key.id})`;

export function checkAdminTokens(tokens: readonly AdminTokenRecord[]): DoctorFinding[] {
  return tokens
    .filter((t) => t.revokedAt === null && (t as { expiresAt?: number | null }).expiresAt == null)
    .map((t) => ({
      check: 'admin_token_no_expiry',
      severity: 'medium' as const,
      subject: `admin_token:${t.id}`,
      message: `Admin token "${t.name}" (kwadm_…${t.last4}) never expires.`,
      fix: 'Replace it with a token that expires, and revoke this one.',
    }));
}

/** Budget, rate limit, model and endpoint scope of every live key, and whether it was used in the last 30 days. */
export function checkKeys(keys: readonly VirtualKeyRecord[], use: ReadonlyMap<string, KeyUse>, now: number): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  for (const key of keys) {
    if (key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now)) continue;
    const limits = key.limits as KeyLimits;
    const subject = `key:${key.id}`;
    if (!limits.budgets?.length) {
      findings.push({ check: 'key_no_budget', severity: 'high', subject, message: `Key ${label(key)} has no USD budget: a leak of it can spend without bound.`, fix: `keywarden keys update ${key.id} --budget 50/month` });
    }
    if (limits.rpm === undefined && limits.rpd === undefined && limits.tpm === undefined) {
      findings.push({ check: 'key_no_rate_limit', severity: 'medium', subject, message: `Key ${label(key)} has no rate limit.`, fix: `keywarden keys update ${key.id} --rpm 60` });
    }
    if (key.scopes.models.length === 0 || key.scopes.models.includes('*')) {
      findings.push({ check: 'key_any_model', severity: 'medium', subject, message: `Key ${label(key)} may use any model, including the most expensive.`, fix: suggestFix(key, use.get(key.id)) });
    }
    if (key.scopes.endpoints.includes(ALL_ENDPOINT_GROUPS)) {
      findings.push({ check: 'key_all_endpoints', severity: 'high', subject, message: `Key ${label(key)} is granted every endpoint group (*), including fine-tuning, files and batches.`, fix: suggestFix(key, use.get(key.id)) });
    } else {
      const sensitive = key.scopes.endpoints.filter((g) => SENSITIVE.includes(g));
      if (sensitive.length > 0) {
        findings.push({ check: 'key_sensitive_endpoints', severity: 'medium', subject, message: `Key ${label(key)} is granted sensitive endpoint groups: ${sensitive.join(', ')}.`, fix: suggestFix(key, use.get(key.id)) });
      }
    }
    const used = use.get(key.id);
    if (!used && now - key.createdAt > 30 * DAY_MS) {
      findings.push({ check: 'key_unused', severity: 'low', subject, message: `Key ${label(key)} has not been used for 30 days.`, fix: `keywarden keys revoke ${key.id}` });
    } else if (used) {
      const narrower = leastPrivilege(key, used);
      if (narrower) findings.push({ check: 'key_least_privilege', severity: 'info', subject, message: `Key ${label(key)} used only ${narrower.summary} in the last 30 days.`, fix: narrower.command });
    }
  }
  return findings;
}

/** The scope a key actually used, when it is narrower than what it is granted; with the command that narrows it. */
function leastPrivilege(key: VirtualKeyRecord, used: KeyUse): { summary: string; command: string } | null {
  const models = [...used.models].sort();
  const groups = [...used.groups].sort();
  const anyModel = key.scopes.models.length === 0 || key.scopes.models.includes('*');
  const unusedGlobs = key.scopes.models.filter((glob) => !models.some((m) => matchesModelGlob(glob, m)));
  const modelsNarrower = models.length > 0 && (anyModel || unusedGlobs.length > 0);
  const groupsNarrower = groups.length > 0 && (key.scopes.endpoints.includes(ALL_ENDPOINT_GROUPS) || key.scopes.endpoints.some((g) => !groups.includes(g)));
  if (!modelsNarrower && !groupsNarrower) return null;
  const flags = [modelsNarrower ? `--models ${models.join(',')}` : '', groupsNarrower ? `--endpoints ${groups.join(',')}` : ''].filter(Boolean).join(' ');
  return { summary: `models ${models.join(', ') || '(none)'} and endpoint groups ${groups.join(', ')}`, command: `keywarden keys update ${key.id} ${flags}` };
}

function suggestFix(key: VirtualKeyRecord, used: KeyUse | undefined): string {
  if (used) {
    const lp = leastPrivilege(key, used);
    if (lp) return lp.command;
  }
  return `keywarden keys update ${key.id} --models gpt-4o-mini --endpoints chat`;
}

/** Folds the distinct (key, endpoint, model) rows of the last 30 days into per-key sets. */
export function keyUseFrom(rows: ReadonlyArray<{ keyId: string; endpoint: string; model: string | null }>): Map<string, KeyUse> {
  const out = new Map<string, KeyUse>();
  for (const row of rows) {
    let use = out.get(row.keyId);
    if (!use) {
      use = { models: new Set(), groups: new Set() };
      out.set(row.keyId, use);
    }
    if (row.model) use.models.add(row.model);
    use.groups.add(endpointGroupOf(row.endpoint));
  }
  return out;
}

export function checkUpstreamAge(upstreams: readonly UpstreamRecord[], periods: ReadonlyMap<string, { maxAgeMs: number; scheduled: boolean }>, now: number): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  for (const u of upstreams) {
    const period = periods.get(u.id);
    if (!period) continue;
    // The oldest key counts: keys record when they were vaulted; older records date from the upstream itself.
    const since = u.keys.reduce((oldest, key) => Math.min(oldest, key.createdAt ?? u.createdAt), Number.POSITIVE_INFINITY);
    if (!Number.isFinite(since) || now - since <= period.maxAgeMs) continue;
    const days = Math.floor((now - since) / DAY_MS);
    const limit = Math.round(period.maxAgeMs / DAY_MS);
    findings.push({
      check: 'upstream_key_old',
      severity: 'medium',
      subject: `upstream:${u.id}`,
      message: period.scheduled
        ? `The oldest key of upstream "${u.name}" is ${days} days old, past its ${limit}-day rotation period: the scheduled rotation has not succeeded (see the audit log).`
        : `The oldest key of upstream "${u.name}" was vaulted ${days} days ago, past the ${limit}-day rotation age.`,
      fix: period.scheduled
        ? `keywarden upstreams rotate ${u.name} (and check provider.rotation_failed in keywarden audit)`
        : `Link it to its OpenAI service account and rotate: keywarden upstreams link ${u.name} && keywarden upstreams rotate ${u.name} (schedule with --rotation 30d)`,
    });
  }
  return findings;
}
