import type { AlertQuery, AlertRepository } from '../../monitor/repositories.js';
import type { AlertRecord, DeliveryRecord, DeliveryStatus, DetectorName } from '../../monitor/types.js';
import type { SqliteDatabase } from './database.js';
import { toJson } from './json-column.js';
import type { AlertRow, DeliveryRow } from '../rows/alert-rows.js';
import { fromRow, deliveryFromRow } from '../rows/alert-rows.js';


const LIST_FILTER = `WHERE (@since IS NULL OR created_at >= @since) AND (@until IS NULL OR created_at < @until)
  AND (@detector IS NULL OR detector = @detector) AND (@keyId IS NULL OR key_id = @keyId)
  AND (@acknowledged IS NULL OR (acknowledged_at IS NOT NULL) = @acknowledged)`;

export class SqliteAlertRepository implements AlertRepository {
  private readonly insertStmt;
  private readonly recentStmt;
  private readonly repeatStmt;
  private readonly suspendedStmt;
  private readonly getStmt;
  private readonly listStmt;
  private readonly ackStmt;
  private readonly insertDeliveryStmt;
  private readonly updateDeliveryStmt;
  private readonly listDeliveriesStmt;

  constructor(db: SqliteDatabase) {
    this.insertStmt = db.prepare(
      `INSERT INTO alerts (id, detector, severity, subject, key_id, title, message, details, notified, suspended, occurrences,
        created_at, last_seen_at, acknowledged_at, acknowledged_by)
       VALUES (@id, @detector, @severity, @subject, @key_id, @title, @message, @details, @notified, @suspended, @occurrences,
        @created_at, @last_seen_at, @acknowledged_at, @acknowledged_by)`,
    );
    this.recentStmt = db.prepare<[string, string, number], AlertRow>(
      'SELECT * FROM alerts WHERE detector = ? AND subject = ? AND created_at >= ? ORDER BY created_at DESC LIMIT 1',
    );
    this.repeatStmt = db.prepare<[number, string]>(
      'UPDATE alerts SET occurrences = occurrences + 1, last_seen_at = MAX(last_seen_at, ?) WHERE id = ?',
    );
    this.suspendedStmt = db.prepare<[number, string]>('UPDATE alerts SET suspended = ? WHERE id = ?');
    this.getStmt = db.prepare<[string], AlertRow>('SELECT * FROM alerts WHERE id = ?');
    this.listStmt = db.prepare<Record<string, unknown>, AlertRow>(
      `SELECT * FROM alerts ${LIST_FILTER} ORDER BY created_at DESC, id LIMIT @limit`,
    );
    this.ackStmt = db.prepare<[number, string, string]>(
      'UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND acknowledged_at IS NULL',
    );
    this.insertDeliveryStmt = db.prepare(
      `INSERT INTO alert_deliveries (id, alert_id, sink, status, attempts, last_error, created_at, updated_at)
       VALUES (@id, @alertId, @sink, @status, @attempts, @lastError, @createdAt, @updatedAt)`,
    );
    this.updateDeliveryStmt = db.prepare(
      'UPDATE alert_deliveries SET status = @status, attempts = @attempts, last_error = @lastError, updated_at = @updatedAt WHERE id = @id',
    );
    this.listDeliveriesStmt = db.prepare<Record<string, unknown>, DeliveryRow>(
      `SELECT * FROM alert_deliveries WHERE (@alertId IS NULL OR alert_id = @alertId) AND (@status IS NULL OR status = @status)
       ORDER BY created_at, id LIMIT @limit`,
    );
  }

  insert(alert: AlertRecord): Promise<void> {
    this.insertStmt.run({
      id: alert.id,
      detector: alert.detector,
      severity: alert.severity,
      subject: alert.subject,
      key_id: alert.keyId,
      title: alert.title,
      message: alert.message,
      details: toJson(alert.details),
      notified: alert.notified ? 1 : 0,
      suspended: alert.suspended ? 1 : 0,
      occurrences: alert.occurrences,
      created_at: alert.createdAt,
      last_seen_at: alert.lastSeenAt,
      acknowledged_at: alert.acknowledgedAt,
      acknowledged_by: alert.acknowledgedBy,
    });
    return Promise.resolve();
  }

  findRecent(detector: DetectorName, subject: string, since: number): Promise<AlertRecord | null> {
    const row = this.recentStmt.get(detector, subject, since);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  recordRepeat(id: string, ts: number): Promise<void> {
    this.repeatStmt.run(ts, id);
    return Promise.resolve();
  }

  setSuspended(id: string, suspended: boolean): Promise<void> {
    this.suspendedStmt.run(suspended ? 1 : 0, id);
    return Promise.resolve();
  }

  get(id: string): Promise<AlertRecord | null> {
    const row = this.getStmt.get(id);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  list(query: AlertQuery): Promise<AlertRecord[]> {
    const rows = this.listStmt.all({
      since: query.since ?? null,
      until: query.until ?? null,
      detector: query.detector ?? null,
      keyId: query.keyId ?? null,
      acknowledged: query.acknowledged === undefined ? null : query.acknowledged ? 1 : 0,
      limit: query.limit,
    });
    return Promise.resolve(rows.map(fromRow));
  }

  /** Idempotent: acknowledging twice keeps the first acknowledgement. */
  acknowledge(id: string, by: string, ts: number): Promise<AlertRecord | null> {
    this.ackStmt.run(ts, by, id);
    return this.get(id);
  }

  insertDelivery(delivery: DeliveryRecord): Promise<void> {
    this.insertDeliveryStmt.run(delivery);
    return Promise.resolve();
  }

  updateDelivery(id: string, patch: Pick<DeliveryRecord, 'status' | 'attempts' | 'lastError' | 'updatedAt'>): Promise<void> {
    this.updateDeliveryStmt.run({ id, ...patch });
    return Promise.resolve();
  }

  listDeliveries(query: { alertId?: string; status?: DeliveryStatus; limit: number }): Promise<DeliveryRecord[]> {
    const rows = this.listDeliveriesStmt.all({ alertId: query.alertId ?? null, status: query.status ?? null, limit: query.limit });
    return Promise.resolve(rows.map(deliveryFromRow));
  }
}
