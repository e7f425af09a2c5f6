import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every file under `dir`, recursively (a gateway's data directory: database, journals, spill files). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

/** Looks for the secret as UTF-8 and also as UTF-16LE, in case a file stores wide strings. */
export function containsSecret(bytes: Buffer, secret: string): boolean {
  return bytes.includes(Buffer.from(secret, 'utf8')) || bytes.includes(Buffer.from(secret, 'utf16le'));
}

/** The files under `dir` that hold any of the secrets (empty when none does). */
export function filesHoldingSecrets(dir: string, secrets: readonly string[]): string[] {
  return filesUnder(dir).filter((file) => {
    const bytes = readFileSync(file);
    return secrets.some((secret) => containsSecret(bytes, secret));
  });
}
