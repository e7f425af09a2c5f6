import { Secret, TOTP } from 'otpauth';

/** RFC 6238 as every authenticator app implements it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
const DIGITS = 6;
/** One step either side, for clock drift. */
const WINDOW = 1;

export function generateTotpSeed(): string {
  return new Secret({ size: 20 }).base32;
}

function totpFor(seedBase32: string, issuer: string, label: string): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: DIGITS, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(seedBase32) });
}

export function totpUrl(seedBase32: string, issuer: string, label: string): string {
  return totpFor(seedBase32, issuer, label).toString();
}

/** Only six ASCII digits; the code form (spaces, dashes) is normalized first so one step cannot be sent twice as two strings. */
export function normalizeTotpCode(code: string): string | null {
  const digits = code.replace(/[\s-]/g, '');
  return /^[0-9]{6}$/.test(digits) ? digits : null;
}

/**
 * The time step a code belongs to (within ±1 step of `now`), or null. The caller must still check that the step is
 * later than the last one used (UserRepository.claimTotpStep), which is what makes a code single-use.
 */
export function matchTotpStep(seedBase32: string, code: string, now: number): number | null {
  const normalized = normalizeTotpCode(code);
  if (normalized === null) return null;
  const delta = totpFor(seedBase32, 'keywarden', 'user').validate({ token: normalized, timestamp: now, window: WINDOW });
  if (delta === null) return null;
  return Math.floor(now / 1000 / TOTP_PERIOD_SECONDS) + delta;
}
