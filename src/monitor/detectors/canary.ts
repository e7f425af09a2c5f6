import type { Finding, SecurityEvent } from '../types.js';

type CanaryEvent = Extract<SecurityEvent, { type: 'canary_used' }>;

/** Client-sent text (user agent, path) is clipped before it reaches an alert, a sink or the audit log. */
const clip = (value: string, max: number): string => (value.length > max ? `${value.slice(0, max)}…` : value);

/**
 * A canary key was used. Always critical: nobody legitimate holds a canary, so one use is proof that a planted
 * secret was taken. Deduplicated per key and source IP within the cooldown (repeats count as occurrences), so a
 * flood of requests from one intruder is one alert while a second source is a new one.
 */
export function canaryFinding(event: CanaryEvent): Finding {
  const ip = clip(event.ip, 64);
  const userAgent = clip(event.userAgent, 200);
  const endpoint = clip(event.endpoint, 200);
  const method = clip(event.method, 16);
  const at = new Date(event.ts).toISOString();
  return {
    detector: 'canary_key',
    severity: 'critical',
    subject: `${event.keyId}:${ip}`,
    keyId: event.keyId,
    title: `Canary key "${clip(event.keyName, 100)}" was used from ${ip}`,
    message:
      `The canary key ${event.keyId} was presented at ${at} from ${ip} (${method} ${endpoint}, user agent "${userAgent}"). ` +
      'Canary keys are planted to be stolen: whoever holds it got it from where it was planted. It was refused as out of quota.',
    details: { ip, user_agent: userAgent, method, endpoint, at },
  };
}
