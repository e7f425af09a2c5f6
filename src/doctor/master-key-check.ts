import { stat } from 'node:fs/promises';
import path from 'node:path';
import { MASTER_KEY_ENV, MASTER_KEY_FILE } from '../vault/master-key.js';
import type { DoctorFinding } from './finding.js';

/**
 * The master key file: readable by anyone but its owner is high (it decrypts every upstream key); kept beside the
 * database it wraps is low (one copied directory or backup carries both).
 */
export async function checkMasterKey(dataDir: string, env: NodeJS.ProcessEnv): Promise<DoctorFinding[]> {
  if (env[MASTER_KEY_ENV]) return [];
  const file = path.resolve(dataDir, MASTER_KEY_FILE);
  let mode: number;
  try {
    mode = (await stat(file)).mode & 0o777;
  } catch {
    return [];
  }
  const findings: DoctorFinding[] = [];
  if ((mode & 0o077) !== 0) {
    findings.push({
      check: 'master_key_file_mode',
      severity: 'high',
      subject: `file:${file}`,
      message: `The master key file is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}).`,
      fix: `chmod 600 ${file}`,
    });
  }
  findings.push({
    check: 'master_key_location',
    severity: 'low',
    subject: `file:${file}`,
    message: 'The master key file sits in the data directory, beside the database it protects: one backup holds both.',
    fix: `Move the key to a secret manager and pass it as ${MASTER_KEY_ENV}, or keep backups of ${path.dirname(file)} without ${MASTER_KEY_FILE}.`,
  });
  return findings;
}
