import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/index.js';
import { silentLogger } from '../log/logger.js';
import { openDatabase } from '../store/sqlite/database.js';
import { SqliteAlertRepository } from '../store/sqlite/alert-repo.js';
import { SqliteAuditRepository } from '../store/sqlite/audit-repo.js';
import { AlertDispatcher } from './alert-dispatcher.js';
import type { AlertView } from './alert-view.js';
import { AlertService } from './alert-service.js';
import { ManualClock } from './clock.js';
import type { Finding } from './types.js';

const HOUR = 3_600_000;
const spike: Finding = {
  detector: 'volume_spike',
  severity: 'critical',
  subject: 'key_a',
  keyId: 'key_a',
  title: 'Request volume spike on key_a',
  message: '9000 requests/min against a baseline of 12.',
  details: { rate: 9000, baseline: 12 },
};

let clock: ManualClock;
let repo: SqliteAlertRepository;
let audit: AuditLog;
let sent: AlertView[];
let suspended: Array<[string, string]>;
let service: AlertService;
let dispatcher: AlertDispatcher;

beforeEach(() => {
  const db = openDatabase(':memory:');
  clock = new ManualClock(Date.UTC(2025, 5, 2, 12));
  repo = new SqliteAlertRepository(db);
  audit = new AuditLog(new SqliteAuditRepository(db), () => clock.now());
  sent = [];
  suspended = [];
  dispatcher = new AlertDispatcher({
    repo,
    sinks: [{ name: 'memory', send: (alert) => Promise.resolve(void sent.push(alert)) }],
    policy: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    sleep: () => Promise.resolve(),
    now: () => clock.now(),
    logger: silentLogger,
  });
  service = new AlertService({
    repo,
    dispatcher,
    now: () => clock.now(),
    logger: silentLogger,
    audit,
    suspendKey: (keyId, reason) => Promise.resolve(void suspended.push([keyId, reason])),
  });
});

describe('AlertService', () => {
  it('folds repeats within the cooldown into one alert, and alerts again after it', async () => {
    const first = await service.raise(spike, 'alert', HOUR);
    await clock.advance(HOUR - 1);
    const second = await service.raise(spike, 'alert', HOUR);
    await dispatcher.idle();
    expect(first.status).toBe('raised');
    expect(second).toEqual({ status: 'deduplicated', alertId: first.status === 'raised' ? first.alert.id : '' });
    expect(sent).toHaveLength(1);
    expect((await repo.list({ limit: 10 }))[0]).toMatchObject({ occurrences: 2, lastSeenAt: clock.now() });

    // A different subject is not a duplicate.
    expect((await service.raise({ ...spike, subject: 'key_b', keyId: 'key_b' }, 'alert', HOUR)).status).toBe('raised');
    await clock.advance(2);
    expect((await service.raise(spike, 'alert', HOUR)).status).toBe('raised');
    expect(await repo.list({ limit: 10 })).toHaveLength(3);
  });

  it('suspends and notifies under "both", and audits the suspension', async () => {
    const result = await service.raise(spike, 'both', HOUR);
    await dispatcher.idle();
    expect(suspended).toEqual([['key_a', 'volume_spike: Request volume spike on key_a']]);
    expect(result.status === 'raised' && result.alert.suspended).toBe(true);
    expect((await repo.list({ limit: 1 }))[0]).toMatchObject({ suspended: true, notified: true });
    expect(sent).toHaveLength(1);
    const [entry] = await audit.list({ limit: 5, order: 'asc' });
    expect(entry).toMatchObject({ actor: 'system:monitor', action: 'key.suspended', target: 'key:key_a' });
  });

  it('suspends without notifying under "suspend", and only alerts under "alert"', async () => {
    await service.raise(spike, 'suspend', HOUR);
    await service.raise({ ...spike, subject: 'key_b', keyId: 'key_b' }, 'alert', HOUR);
    await dispatcher.idle();
    expect(suspended.map(([id]) => id)).toEqual(['key_a']);
    expect(sent.map((a) => a.key_id)).toEqual(['key_b']);
    const alerts = await repo.list({ limit: 10 });
    expect(alerts.find((a) => a.keyId === 'key_a')).toMatchObject({ notified: false, suspended: true });
  });

  it('keeps the alert when suspension fails, marked as not suspended', async () => {
    const failing = new AlertService({
      repo,
      dispatcher,
      now: () => clock.now(),
      logger: silentLogger,
      suspendKey: () => Promise.reject(new Error('store down')),
    });
    const result = await failing.raise(spike, 'both', HOUR);
    expect(result.status === 'raised' && result.alert.suspended).toBe(false);
    expect((await repo.list({ limit: 1 }))[0]).toMatchObject({ suspended: false });
  });

  it('writes probing bursts to the audit log', async () => {
    await service.raise(
      { detector: 'key_probing', severity: 'warning', subject: '203.0.113.9', keyId: null, title: 't', message: 'm', details: { failures: 50 } },
      'both',
      HOUR,
    );
    expect(suspended).toEqual([]);
    const [entry] = await audit.list({ limit: 5, order: 'asc' });
    expect(entry).toMatchObject({ action: 'security.probing_detected', target: 'ip:203.0.113.9' });
    expect(entry?.after).toMatchObject({ failures: 50 });
  });
});
