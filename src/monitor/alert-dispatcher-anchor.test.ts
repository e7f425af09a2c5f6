import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, AuditSigner } from '../audit/index.js';
import { silentLogger } from '../log/logger.js';
import { openDatabase } from '../store/sqlite/database.js';
import { SqliteAlertRepository } from '../store/sqlite/alert-repo.js';
import { SqliteAuditRepository } from '../store/sqlite/audit-repo.js';
import { AlertDispatcher } from './alert-dispatcher.js';
import { alertText, type AlertView } from './alert-view.js';
import type { AlertRecord } from './types.js';

let repo: SqliteAlertRepository;
let audit: AuditLog;
let signer: AuditSigner;
let sent: AlertView[];

const alert = (id: string): AlertRecord => ({
  id,
  detector: 'key_probing',
  severity: 'warning',
  subject: 'ip:203.0.113.9',
  keyId: null,
  title: 'Probing',
  message: '50 invalid keys from one IP',
  details: {},
  notified: true,
  suspended: false,
  occurrences: 1,
  createdAt: 1_700_000_000_000,
  lastSeenAt: 1_700_000_000_000,
  acknowledgedAt: null,
  acknowledgedBy: null,
});

function dispatcher(auditHead: () => Promise<ReturnType<AuditSigner['anchorFor']> | null>): AlertDispatcher {
  return new AlertDispatcher({
    repo,
    sinks: [{ name: 'memory', send: (view) => Promise.resolve(void sent.push(view)) }],
    policy: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    sleep: () => Promise.resolve(),
    now: () => 1_700_000_000_000,
    logger: silentLogger,
    auditHead,
  });
}

beforeEach(async () => {
  const db = openDatabase(':memory:');
  repo = new SqliteAlertRepository(db);
  signer = new AuditSigner(randomBytes(32));
  audit = new AuditLog(new SqliteAuditRepository(db), () => 1_700_000_000_000, signer);
  await audit.startAnchoring();
  sent = [];
  for (const id of ['alt_1', 'alt_2', 'alt_3']) await repo.insert(alert(id));
});

describe('alert deliveries carry the signed audit head', () => {
  it('sends the head current at delivery time, with an HMAC that verifies, in JSON and in the text sinks', async () => {
    const d = dispatcher(() => audit.anchor());
    await d.dispatch(alert('alt_1'));
    await d.idle();
    expect(sent[0]?.audit_head).toMatchObject({ seq: 0 });
    await audit.append({ actor: 'admin:adm_1', action: 'key.created', target: 'key:key_1' });
    await audit.append({ actor: 'admin:adm_1', action: 'key.revoked', target: 'key:key_1' });
    await d.dispatch(alert('alt_2'));
    await d.idle();
    const head = sent[1]?.audit_head;
    expect(head).toEqual({ ...(await audit.head()), mac: expect.stringMatching(/^[0-9a-f]{64}$/) as string });
    expect(signer.matches(head!.seq, head!.hash, head!.mac)).toBe(true);
    const wire = JSON.parse(JSON.stringify({ type: 'keywarden.alert', alert: sent[1] })) as { alert: { audit_head: { seq: number } } };
    expect(wire.alert.audit_head.seq).toBe(2);
    expect(alertText(sent[1]!)).toContain(`audit head: 2:${head!.hash} mac ${head!.mac}`);
  });

  it('still delivers (with a null head) when the head cannot be read', async () => {
    const d = dispatcher(() => Promise.reject(new Error('disk gone')));
    await d.dispatch(alert('alt_3'));
    await d.idle();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.audit_head).toBeNull();
  });
});
