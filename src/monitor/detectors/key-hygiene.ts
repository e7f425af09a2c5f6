import type { Finding, KeyInfo } from '../types.js';

const DAY = 86_400_000;

export interface HygieneConfig {
  rotation: { enabled: boolean; maxAgeMs: number };
  unused: { enabled: boolean; maxIdleMs: number };
}

export interface HygieneInput {
  keys: readonly KeyInfo[];
  lastUsed: ReadonlyMap<string, number>;
  /** When monitoring first saw any use; idleness cannot be judged before it. Null: nothing seen yet. */
  epoch: number | null;
  now: number;
}

/** Keys older than the rotation policy, and keys nobody used for a long time (revoked and expired keys skipped). */
export function hygieneFindings(input: HygieneInput, config: HygieneConfig): Finding[] {
  const findings: Finding[] = [];
  const { now } = input;
  for (const key of input.keys) {
    if (key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now)) continue;
    const secretSince = key.rotatedAt ?? key.createdAt;
    if (config.rotation.enabled && now - secretSince > config.rotation.maxAgeMs) {
      const days = Math.floor((now - secretSince) / DAY);
      findings.push({
        detector: 'key_rotation_due',
        severity: 'info',
        subject: key.id,
        keyId: key.id,
        title: `Key ${key.id} (${key.name}) is due for rotation`,
        message: `The secret of key ${key.id} is ${days} days old, past the ${Math.round(config.rotation.maxAgeMs / DAY)}-day rotation policy. Rotate it with \`keywarden keys rotate ${key.id}\`.`,
        details: { age_days: days, secret_since: new Date(secretSince).toISOString() },
      });
    }
    const seen = input.lastUsed.get(key.id);
    // Without a recorded use, count idleness from creation, but never from before monitoring could see anything.
    const idleSince = seen ?? Math.max(key.createdAt, input.epoch ?? now);
    if (config.unused.enabled && now - idleSince > config.unused.maxIdleMs) {
      const days = Math.floor((now - idleSince) / DAY);
      findings.push({
        detector: 'key_unused',
        severity: 'info',
        subject: key.id,
        keyId: key.id,
        title: `Key ${key.id} (${key.name}) has not been used for ${days} days`,
        message: `Key ${key.id} has not been used for ${days} days. An unused key is risk without benefit: revoke it if nothing needs it.`,
        details: { idle_days: days, last_used_at: seen === undefined ? null : new Date(seen).toISOString() },
      });
    }
  }
  return findings;
}
