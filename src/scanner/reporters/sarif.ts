import { ALL_RULES } from '../rules/index.js';
import type { ReportableFinding } from '../finding.js';
import { totalSkipped, type SkipSummary } from '../sources/skipped.js';

const INFORMATION_URI = 'https://github.com/keywarden/keywarden';

export interface SarifOptions {
  toolVersion: string;
  /** What the scan left out: one tool notification per named skip, and the counts as invocation properties. */
  skipped?: SkipSummary | undefined;
}

/** The run's invocation: where SARIF puts what the tool could not do (here: files it did not scan, and why). */
function invocation(skipped: SkipSummary): Record<string, unknown> {
  const notifications = skipped.named.map((record) => ({
    level: record.reason === 'binary' ? 'note' : 'warning',
    message: { text: `skipped: ${record.detail ?? record.reason}` },
    locations: [{ physicalLocation: { artifactLocation: { uri: encodeURI(record.path || 'stdin'), uriBaseId: '%SRCROOT%' } } }],
    properties: { reason: record.reason },
  }));
  return {
    executionSuccessful: true,
    toolExecutionNotifications: notifications,
    properties: {
      skipped: { total: totalSkipped(skipped), ...skipped.files, named: skipped.namedTotal, binaryArchiveMembers: skipped.binaryMembers },
      scannedFiles: skipped.scannedFiles,
    },
  };
}

/**
 * SARIF 2.1.0 as GitHub code scanning accepts it: relative artifact URIs under %SRCROOT%, one reportingDescriptor
 * per rule with a security-severity, and partialFingerprints so GitHub tracks an alert across runs. A finding
 * from history carries its commit in partialFingerprints.commitSha, as gitleaks does.
 */
export function renderSarif(findings: readonly ReportableFinding[], options: SarifOptions): string {
  const rules = ALL_RULES.map((rule) => ({
    id: rule.id,
    name: rule.title.replace(/[^A-Za-z0-9]+/g, ''),
    shortDescription: { text: rule.title },
    fullDescription: { text: rule.description },
    helpUri: rule.docsUrl,
    help: {
      text: `${rule.description} Revoke and rotate the key at the provider, then remove it from the code and history.`,
    },
    defaultConfiguration: { level: 'error' },
    properties: { tags: ['security', 'secret', rule.provider], precision: 'high', 'security-severity': '9.0' },
  }));
  const ruleIndex = new Map(rules.map((rule, index) => [rule.id, index]));
  const results = findings.map((f) => {
    const partialFingerprints: Record<string, string> = { 'secretHash/v1': f.fingerprint };
    if (f.commit !== undefined) partialFingerprints.commitSha = f.commit.sha;
    const properties: Record<string, unknown> = { provider: f.provider };
    if (f.commit !== undefined) properties.commit = f.commit;
    if (f.url !== undefined) properties.url = f.url;
    if (f.verification !== undefined) properties.verification = f.verification;
    if (f.encoding !== undefined) properties.encoding = f.encoding;
    return {
      ruleId: f.ruleId,
      ruleIndex: ruleIndex.get(f.ruleId) ?? 0,
      level: 'error',
      message: { text: `${f.title} ${f.secret}${f.verification === 'live' ? ' (verified live)' : ''}` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: encodeURI(f.path || 'stdin'), uriBaseId: '%SRCROOT%' },
            region: { startLine: f.line, startColumn: f.column, endLine: f.line, endColumn: f.endColumn },
          },
        },
      ],
      partialFingerprints,
      properties,
    };
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'keywarden', informationUri: INFORMATION_URI, semanticVersion: options.toolVersion, rules } },
        results,
        columnKind: 'utf16CodeUnits',
        ...(options.skipped !== undefined ? { invocations: [invocation(options.skipped)] } : {}),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
