import type { Finding } from '../../scanner/types.js';
import { AdminClient } from '../admin-client.js';

export interface LeakReportSummary {
  reported: number;
  revoked: number;
  unknown: number;
}

function sourceOf(finding: Finding): string {
  const where = `${finding.path}:${finding.line}`;
  return finding.commit ? `${where} @ ${finding.commit.sha}` : where;
}

/**
 * Closes the loop for keywarden's own keys: each leaked virtual key found by the scan is reported to the gateway
 * (KEYWARDEN_URL, KEYWARDEN_ADMIN_TOKEN), which records an audited leak report and revokes the key. Other
 * providers' keys must be revoked at the provider; the scan's report says where they are.
 */
export async function reportLeakedVirtualKeys(findings: readonly Finding[], env: NodeJS.ProcessEnv): Promise<LeakReportSummary> {
  const client = new AdminClient(env);
  const seen = new Set<string>();
  const summary: LeakReportSummary = { reported: 0, revoked: 0, unknown: 0 };
  for (const finding of findings) {
    if (finding.provider !== 'keywarden' || seen.has(finding.fingerprint)) continue;
    seen.add(finding.fingerprint);
    const result = await client.request<{ found: boolean; revoked: boolean }>('POST', '/keys/report-leak', {
      key: finding.secret,
      source: sourceOf(finding),
      revoke: true,
    });
    summary.reported++;
    if (!result.found) summary.unknown++;
    else if (result.revoked) summary.revoked++;
  }
  return summary;
}
