/** One posture finding: what is wrong, how bad, and the one line that fixes it. */
export type DoctorSeverity = 'high' | 'medium' | 'low' | 'info';

export interface DoctorFinding {
  check: string;
  severity: DoctorSeverity;
  /** What it is about: `key:key_…`, `admin_token:adm_…`, `file:…/master.key`, `provider_key:…`. */
  subject: string;
  message: string;
  fix: string;
}

export interface DoctorReport {
  object: 'doctor_report';
  findings: DoctorFinding[];
  counts: Record<DoctorSeverity, number>;
  /** Checks that could not run (e.g. the provider could not be reached), and why. */
  skipped: string[];
}

const ORDER: Record<DoctorSeverity, number> = { high: 0, medium: 1, low: 2, info: 3 };

export function toReport(findings: DoctorFinding[], skipped: string[]): DoctorReport {
  const sorted = [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || a.check.localeCompare(b.check) || a.subject.localeCompare(b.subject));
  const counts = { high: 0, medium: 0, low: 0, info: 0 };
  for (const f of sorted) counts[f.severity]++;
  return { object: 'doctor_report', findings: sorted, counts, skipped };
}
