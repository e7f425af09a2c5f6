import type { Finding } from '../../scanner/types.js';
import { AdminClient } from '../admin-client.js';
import { writeLine, type CliIo } from '../io.js';

interface LeakOutcome {
  display: string;
  provider: string;
  source: string | null;
  status: string;
  detail: string;
  revocation_url: string | null;
}

function sourceOf(finding: Finding): string {
  const where = `${finding.path}:${finding.line}`;
  return finding.commit ? `${where} @ ${finding.commit.sha}` : where;
}

/**
 * `scan --revoke`: sends every leaked key found to the gateway (POST /admin/v1/leaks; KEYWARDEN_URL,
 * KEYWARDEN_ADMIN_TOKEN). keywarden's own keys are revoked at once (they only ever live behind this gateway);
 * provider keys are a dry run unless `yes`, then revoked at the provider when they belong to the connected
 * organisation. Prints one line per key (masked) and a summary; returns the outcomes.
 */
export async function revokeLeakedKeys(findings: readonly Finding[], yes: boolean, io: CliIo): Promise<LeakOutcome[]> {
  const seen = new Set<string>();
  const own: Array<{ key: string; provider: string; source: string }> = [];
  const provider: Array<{ key: string; provider: string; source: string }> = [];
  for (const finding of findings) {
    if (seen.has(finding.fingerprint)) continue;
    seen.add(finding.fingerprint);
    const leak = { key: finding.secret, provider: finding.provider, source: sourceOf(finding) };
    (finding.provider === 'keywarden' ? own : provider).push(leak);
  }
  const client = new AdminClient(io.env);
  const outcomes: LeakOutcome[] = [];
  for (const [leaks, dryRun] of [[own, false], [provider, !yes]] as const) {
    if (leaks.length === 0) continue;
    const answer = await client.request<{ data: LeakOutcome[] }>('POST', '/leaks', { leaks, dry_run: dryRun });
    outcomes.push(...answer.data);
  }
  for (const o of outcomes) {
    const where = o.revocation_url ? ` — revoke at ${o.revocation_url}` : '';
    writeLine(io.stderr, `keywarden: ${o.status.replace('_', ' ')}: ${o.provider} ${o.display} (${o.source ?? '?'}): ${o.detail}${where}`);
  }
  const count = (status: string): number => outcomes.filter((o) => o.status === status).length;
  writeLine(
    io.stderr,
    `keywarden: ${outcomes.length} leaked key(s): ${count('revoked')} revoked, ${count('would_revoke')} to revoke with --yes, ` +
      `${count('not_ours')} not ours, ${count('ambiguous')} ambiguous, ${count('failed')} failed, ${count('manual')} to revoke by hand`,
  );
  return outcomes;
}
