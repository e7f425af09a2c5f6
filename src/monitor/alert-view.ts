import type { SignedAnchor } from '../audit/anchor.js';
import type { AlertRecord, DeliveryRecord } from './types.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * The public shape of an alert, shared by the admin API and every sink. Alerts carry key ids and IPs, never key
 * material: detectors only ever see public ids.
 */
export function alertView(alert: AlertRecord) {
  return {
    id: alert.id,
    object: 'alert' as const,
    detector: alert.detector,
    severity: alert.severity,
    subject: alert.subject,
    key_id: alert.keyId,
    title: alert.title,
    message: alert.message,
    details: alert.details,
    actions: { notified: alert.notified, suspended: alert.suspended },
    occurrences: alert.occurrences,
    created_at: iso(alert.createdAt) as string,
    last_seen_at: iso(alert.lastSeenAt) as string,
    acknowledged_at: iso(alert.acknowledgedAt),
    acknowledged_by: alert.acknowledgedBy,
  };
}

/** What sinks receive: the alert plus the signed audit head at delivery time (null when not anchored). */
export type AlertView = ReturnType<typeof alertView> & { audit_head?: SignedAnchor | null };

export function deliveryView(delivery: DeliveryRecord) {
  return {
    id: delivery.id,
    object: 'alert_delivery' as const,
    alert_id: delivery.alertId,
    sink: delivery.sink,
    status: delivery.status,
    attempts: delivery.attempts,
    last_error: delivery.lastError,
    created_at: iso(delivery.createdAt) as string,
    updated_at: iso(delivery.updatedAt) as string,
  };
}

/** Plain-text rendering for email and chat. */
export function alertSubject(alert: AlertView): string {
  return `[keywarden] ${alert.severity.toUpperCase()}: ${alert.title}`;
}

export function alertText(alert: AlertView): string {
  const lines = [alert.message, ''];
  lines.push(`detector: ${alert.detector}`);
  if (alert.key_id) lines.push(`key: ${alert.key_id}`);
  lines.push(`subject: ${alert.subject}`);
  for (const [name, value] of Object.entries(alert.details)) lines.push(`${name}: ${String(value)}`);
  if (alert.actions.suspended) lines.push('', 'The key was suspended automatically. An admin can lift the suspension.');
  lines.push('', `alert id: ${alert.id}`, `time: ${alert.created_at}`);
  // Slack and email keep an off-box copy of the signed audit head too (compare with `keywarden audit head`).
  if (alert.audit_head) lines.push(`audit head: ${alert.audit_head.seq}:${alert.audit_head.hash} mac ${alert.audit_head.mac}`);
  return lines.join('\n');
}
