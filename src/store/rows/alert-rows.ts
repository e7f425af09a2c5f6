
import type { AlertRecord, DeliveryRecord, DeliveryStatus, DetectorName, Severity } from '../../monitor/types.js';
import { fromJson } from '../sqlite/json-column.js';

/** The alert table's row shape and its mapping to records: one definition for the SQLite and the PostgreSQL store. */

export interface AlertRow {
  id: string;
  detector: string;
  severity: string;
  subject: string;
  key_id: string | null;
  title: string;
  message: string;
  details: string;
  notified: number;
  suspended: number;
  occurrences: number;
  created_at: number;
  last_seen_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
}

export interface DeliveryRow {
  id: string;
  alert_id: string;
  sink: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export function fromRow(row: AlertRow): AlertRecord {
  return {
    id: row.id,
    detector: row.detector as DetectorName,
    severity: row.severity as Severity,
    subject: row.subject,
    keyId: row.key_id,
    title: row.title,
    message: row.message,
    details: fromJson(row.details),
    notified: row.notified === 1,
    suspended: row.suspended === 1,
    occurrences: row.occurrences,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    acknowledgedAt: row.acknowledged_at,
    acknowledgedBy: row.acknowledged_by,
  };
}

export function deliveryFromRow(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    alertId: row.alert_id,
    sink: row.sink,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
