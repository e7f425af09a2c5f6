import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { KeywardenError } from '../../errors/index.js';
import { toReportable } from '../finding.js';
import type { Finding } from '../types.js';

/**
 * A baseline lists known findings by the sha256 of the secret — not by line number like gitleaks — so it survives
 * edits, moved lines and renamed files. Rule, path and the masked secret are kept only to help a human reviewer.
 */
const baselineSchema = z
  .object({
    version: z.literal(1),
    tool: z.literal('keywarden'),
    findings: z.array(
      z
        .object({
          fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
          ruleId: z.string(),
          path: z.string(),
          secret: z.string(),
        })
        .strict(),
    ),
  })
  .strict();

export type Baseline = z.output<typeof baselineSchema>;

export function createBaseline(findings: readonly Finding[]): Baseline {
  const seen = new Set<string>();
  const entries: Baseline['findings'] = [];
  for (const finding of findings) {
    if (seen.has(finding.fingerprint)) continue;
    seen.add(finding.fingerprint);
    const { fingerprint, ruleId, path, secret } = toReportable(finding, false);
    entries.push({ fingerprint, ruleId, path, secret });
  }
  return { version: 1, tool: 'keywarden', findings: entries };
}

export async function writeBaseline(file: string, findings: readonly Finding[]): Promise<void> {
  await writeFile(file, `${JSON.stringify(createBaseline(findings), null, 2)}\n`);
}

export async function readBaseline(file: string): Promise<Baseline> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new KeywardenError('KW_USAGE', { message: `Cannot read baseline file ${file}` });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new KeywardenError('KW_USAGE', { message: `Baseline file ${file} is not valid JSON` });
  }
  const parsed = baselineSchema.safeParse(raw);
  if (!parsed.success) throw new KeywardenError('KW_USAGE', { message: `Baseline file ${file} is not a keywarden baseline` });
  return parsed.data;
}

/** Only the findings whose secret the baseline does not already know. */
export function newFindings(findings: readonly Finding[], baseline: Baseline): Finding[] {
  const known = new Set(baseline.findings.map((entry) => entry.fingerprint));
  return findings.filter((finding) => !known.has(finding.fingerprint));
}
