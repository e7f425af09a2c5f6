import type { ErrorCode } from '../errors/index.js';
import type { UsageRecord, VirtualKeyRecord } from '../store/index.js';
import type { AuthFailureReason, ScopeDenialReason, SecurityEvent } from '../monitor/types.js';

/** What the gateway tells monitoring. Both calls must be cheap: they run on the request path or the flush. */
export interface GatewayMonitor {
  securityEvent(event: SecurityEvent): void;
  ingestUsage(records: readonly UsageRecord[]): void;
}

const AUTH_FAILURES: Partial<Record<ErrorCode, AuthFailureReason>> = {
  KW_MISSING_API_KEY: 'missing',
  KW_INVALID_API_KEY: 'invalid',
  KW_KEY_REVOKED: 'revoked',
  KW_KEY_EXPIRED: 'expired',
  KW_KEY_SUSPENDED: 'suspended',
};

const SCOPE_DENIALS: Partial<Record<ErrorCode, ScopeDenialReason>> = {
  KW_MODEL_NOT_ALLOWED: 'model',
  KW_ENDPOINT_NOT_ALLOWED: 'endpoint',
  KW_IP_NOT_ALLOWED: 'ip',
};

/** The security event a refused request amounts to, if any: key probing material or a scope denial. */
export function securityEventOf(
  code: ErrorCode,
  ts: number,
  state: { key: VirtualKeyRecord | null; clientIp: string; model: string | null; path: string },
): SecurityEvent | null {
  const auth = AUTH_FAILURES[code];
  if (auth) return { type: 'auth_failed', ts, ip: state.clientIp, reason: auth, ...(state.key ? { keyId: state.key.id } : {}) };
  const scope = SCOPE_DENIALS[code];
  if (scope && state.key) {
    return {
      type: 'scope_denied',
      ts,
      keyId: state.key.id,
      ip: state.clientIp,
      reason: scope,
      ...(state.model ? { model: state.model } : {}),
      endpoint: state.path,
    };
  }
  return null;
}
