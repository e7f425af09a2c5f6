import type { IncomingMessage } from 'node:http';
import { KeywardenError } from '../errors/index.js';
import type { VirtualKeyRecord } from '../store/index.js';
import type { GatewayMonitor } from './security-events.js';

/**
 * The official SDKs honour `x-should-retry: false` and do not retry, as with the gateway's own spent-budget
 * refusal, so a canary answers with the same headers a real out-of-quota key does (see limits/limiter.ts).
 */
const QUOTA_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'x-should-retry': 'false' });

/**
 * A canary key was presented. Reports it to monitoring (critical alert with where it came from) and returns the
 * refusal: OpenAI's own `insufficient_quota` 429, so whoever holds the stolen key learns nothing. Called after
 * `identify` and before any state, scope, body or upstream work, so a canary is never forwarded and never costs.
 */
export function canaryTripped(
  req: IncomingMessage,
  key: VirtualKeyRecord,
  where: { clientIp: string; path: string; ts: number },
  monitor: GatewayMonitor | undefined,
): KeywardenError {
  const userAgent = req.headers['user-agent'];
  monitor?.securityEvent({
    type: 'canary_used',
    ts: where.ts,
    keyId: key.id,
    keyName: key.name,
    ip: where.clientIp,
    userAgent: typeof userAgent === 'string' ? userAgent : '',
    method: req.method ?? 'GET',
    endpoint: where.path,
  });
  return new KeywardenError('KW_CANARY_QUOTA', { headers: { ...QUOTA_HEADERS } });
}
