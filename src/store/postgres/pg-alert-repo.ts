import type { AlertQuery, AlertRepository } from '../../monitor/repositories.js';
import type { AlertRecord, DeliveryRecord, DeliveryStatus, DetectorName } from '../../monitor/types.js';
import { toJson } from '../sqlite/json-column.js';
import { ALERT_RAISE_LOCK_CLASS, type PgDatabase } from './pg-database.js';
import type { AlertRow, DeliveryRow } from '../rows/alert-rows.js';
import { fromRow, deliveryFromRow } from '../rows/alert-rows.js';


export class PgAlertRepository implements AlertRepository {
  constructor(private readonly db: PgDatabase) {}

  async insert(a: AlertRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO alerts (id, detector, severity, subject, key_id, title, message, details, notified, suspended, occurrences,
        created_at, last_seen_at, acknowledged_at, acknowledged_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        a.id,
        a.detector,
        a.severity,
        a.subject,
        a.keyId,
        a.title,
        a.message,
        toJson(a.details),
        a.notified ? 1 : 0,
        a.suspended ? 1 : 0,
        a.occurrences,
        a.createdAt,
        a.lastSeenAt,
        a.acknowledgedAt,
        a.acknowledgedBy,
      ],
    );
  }

  async findRecent(detector: DetectorName, subject: string, since: number): Promise<AlertRecord | null> {
    const row = await this.db.one<AlertRow>(
      'SELECT * FROM alerts WHERE detector = $1 AND subject = $2 AND created_at >= $3 ORDER BY created_at DESC LIMIT 1',
      [detector, subject, since],
    );
    return row ? fromRow(row) : null;
  }

  /** A transaction holding an advisory lock on (detector, subject): raises of the same thing queue behind it. */
  exclusive<T>(detector: DetectorName, subject: string, fn: () => Promise<T>): Promise<T> {
    return this.db.transaction(async () => {
      await this.db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ALERT_RAISE_LOCK_CLASS, `${detector}\n${subject}`]);
      return fn();
    });
  }

  async recordRepeat(id: string, ts: number): Promise<void> {
    await this.db.query('UPDATE alerts SET occurrences = occurrences + 1, last_seen_at = GREATEST(last_seen_at, $1) WHERE id = $2', [ts, id]);
  }

  async setSuspended(id: string, suspended: boolean): Promise<void> {
    await this.db.query('UPDATE alerts SET suspended = $1 WHERE id = $2', [suspended ? 1 : 0, id]);
  }

  async get(id: string): Promise<AlertRecord | null> {
    const row = await this.db.one<AlertRow>('SELECT * FROM alerts WHERE id = $1', [id]);
    return row ? fromRow(row) : null;
  }

  async list(query: AlertQuery): Promise<AlertRecord[]> {
    const rows = await this.db.rows<AlertRow>(
      `SELECT * FROM alerts WHERE ($1::bigint IS NULL OR created_at >= $1) AND ($2::bigint IS NULL OR created_at < $2)
        AND ($3::text IS NULL OR detector = $3) AND ($4::text IS NULL OR key_id = $4)
        AND ($5::boolean IS NULL OR (acknowledged_at IS NOT NULL) = $5)
       ORDER BY created_at DESC, id COLLATE "C" LIMIT $6`,
      [query.since ?? null, query.until ?? null, query.detector ?? null, query.keyId ?? null, query.acknowledged ?? null, query.limit],
    );
    return rows.map(fromRow);
  }

  /** Idempotent: acknowledging twice keeps the first acknowledgement. */
  async acknowledge(id: string, by: string, ts: number): Promise<AlertRecord | null> {
    await this.db.query('UPDATE alerts SET acknowledged_at = $1, acknowledged_by = $2 WHERE id = $3 AND acknowledged_at IS NULL', [ts, by, id]);
    return this.get(id);
  }

  async insertDelivery(d: DeliveryRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO alert_deliveries (id, alert_id, sink, status, attempts, last_error, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [d.id, d.alertId, d.sink, d.status, d.attempts, d.lastError, d.createdAt, d.updatedAt],
    );
  }

  async updateDelivery(id: string, patch: Pick<DeliveryRecord, 'status' | 'attempts' | 'lastError' | 'updatedAt'>): Promise<void> {
    await this.db.query('UPDATE alert_deliveries SET status = $1, attempts = $2, last_error = $3, updated_at = $4 WHERE id = $5', [
      patch.status,
      patch.attempts,
      patch.lastError,
      patch.updatedAt,
      id,
    ]);
  }

  async listDeliveries(query: { alertId?: string; status?: DeliveryStatus; limit: number }): Promise<DeliveryRecord[]> {
    const rows = await this.db.rows<DeliveryRow>(
      `SELECT * FROM alert_deliveries WHERE ($1::text IS NULL OR alert_id = $1) AND ($2::text IS NULL OR status = $2)
       ORDER BY created_at, id COLLATE "C" LIMIT $3`,
      [query.alertId ?? null, query.status ?? null, query.limit],
    );
    return rows.map(deliveryFromRow);
  }
}
