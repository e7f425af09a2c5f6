import type { Logger } from '../log/logger.js';
import type { AlertRecord } from './types.js';

/**
 * With no sink configured an alert would reach nobody: it is written to the log instead, one warn line each,
 * so `keywarden serve` output (or whatever collects it) shows it. Alerts carry ids, names and amounts, never
 * key material, so the line is safe to log.
 */
export function logAlert(logger: Logger, alert: AlertRecord): void {
  logger.warn(`alert: ${alert.title}`, {
    alertId: alert.id,
    detector: alert.detector,
    severity: alert.severity,
    keyId: alert.keyId,
    subject: alert.subject,
    message: alert.message,
    suspended: alert.suspended,
  });
}
