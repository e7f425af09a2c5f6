import { summarizeNotes, type WindowTotal } from '../security-window.js';
import type { Finding } from '../types.js';

const minutes = (ms: number): number => Math.round(ms / 60_000);

/** A burst of rejected keys from one address: someone trying stolen or guessed keys. Names the IP. */
export function probingFindings(totals: readonly WindowTotal[], config: { threshold: number; windowMs: number }): Finding[] {
  return totals
    .filter((t) => t.count >= config.threshold)
    .map((t) => ({
      detector: 'key_probing',
      severity: 'warning',
      subject: t.subject,
      keyId: null,
      title: `Key probing from ${t.subject}`,
      message: `${t.count} requests with invalid, revoked or expired keys came from ${t.subject} in the last ${minutes(config.windowMs)} minutes.`,
      details: {
        ip: t.subject,
        failures: t.count,
        window_minutes: minutes(config.windowMs),
        reasons: summarizeNotes(t.notes, 'reason'),
        key_ids: summarizeNotes(t.notes, 'key', false) || null,
      },
    }));
}

/** Repeated scope denials for one key: someone trying models, endpoints or networks the key may not use. */
export function scopeDenialFindings(totals: readonly WindowTotal[], config: { threshold: number; windowMs: number }): Finding[] {
  return totals
    .filter((t) => t.count >= config.threshold)
    .map((t) => ({
      detector: 'scope_denials',
      severity: 'warning',
      subject: t.subject,
      keyId: t.subject,
      title: `Repeated scope denials for key ${t.subject}`,
      message: `Key ${t.subject} was refused ${t.count} times in the last ${minutes(config.windowMs)} minutes for models, endpoints or networks outside its scope.`,
      details: {
        denials: t.count,
        window_minutes: minutes(config.windowMs),
        reasons: summarizeNotes(t.notes, 'reason'),
        models: summarizeNotes(t.notes, 'model', false) || null,
        endpoints: summarizeNotes(t.notes, 'endpoint', false) || null,
        ips: summarizeNotes(t.notes, 'ip', false) || null,
      },
    }));
}
