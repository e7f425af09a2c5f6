import { setTimeout as delay } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { KeyService } from '../admin/key-service.js';
import { openDatabase } from '../store/sqlite/database.js';
import { SqliteAuditRepository } from '../store/sqlite/audit-repo.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { AuditLog } from './audit-log.js';

let store: SqliteStore;
let audit: AuditLog;
let keys: KeyService;

beforeEach(() => {
  store = new SqliteStore(openDatabase(':memory:'));
  audit = new AuditLog(new SqliteAuditRepository(store.db), () => 1_700_000_000_000);
  keys = new KeyService(store, Buffer.alloc(32, 7), () => 1_700_000_000_000, audit);
});

// KeyService audits every change itself, through withAudit.
const createAudited = (name: string) => keys.create({ name }, 'admin:adm_1');

describe('AuditLog.withAudit with the real SQLite store', () => {
  it('commits the key and its audit entry together, without the secret or hash', async () => {
    const issued = await createAudited('billing');
    expect((await store.keys.list()).map((k) => k.id)).toEqual([issued.record.id]);
    const [entry] = await audit.list({ limit: 10, order: 'asc' });
    expect(entry).toMatchObject({ action: 'key.created', target: `key:${issued.record.id}` });
    const text = JSON.stringify(entry);
    expect(text).not.toContain(issued.secret);
    expect(text).not.toContain(issued.record.hash);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('issues no key when the audit store is unwritable', async () => {
    store.db.exec("CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'read-only'); END;");
    await expect(createAudited('billing')).rejects.toMatchObject({ code: 'KW_AUDIT_UNAVAILABLE', status: 503 });
    expect(await store.keys.list()).toEqual([]);
    expect(store.db.inTransaction).toBe(false);
  });

  it('records nothing when the action itself fails', async () => {
    await expect(
      audit.withAudit(
        async () => {
          await keys.create({ name: 'half-done' }, 'admin:adm_1');
          throw new Error('validation failed after the insert');
        },
        () => ({ actor: 'admin:adm_1', action: 'key.created', target: 'key:x' }),
      ),
    ).rejects.toThrow('validation failed after the insert');
    expect(await store.keys.list()).toEqual([]);
    expect(await audit.head()).toBeNull();
  });

  it('refuses and rolls back an action that waits on a timer inside the transaction', async () => {
    await expect(
      audit.withAudit(
        async () => {
          const issued = await keys.create({ name: 'slow' }, 'admin:adm_1');
          await delay(1);
          return issued;
        },
        (issued) => ({ actor: 'admin:adm_1', action: 'key.created', target: `key:${issued.record.id}` }),
      ),
    ).rejects.toMatchObject({ code: 'KW_INTERNAL' });
    expect(await store.keys.list()).toEqual([]);
    expect(await audit.head()).toBeNull();
  });

  it('keeps an append made while a section is open out of that section\'s rollback', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const failing = audit.withAudit(
      async () => {
        await keys.create({ name: 'doomed' }, 'admin:adm_1');
        entered();
        await gate;
        throw new Error('boom');
      },
      () => ({ actor: 'admin:adm_1', action: 'key.created', target: 'key:x' }),
    );
    await inside;
    expect(store.db.inTransaction).toBe(true);
    const outside = audit.append({ actor: 'system:monitor', action: 'security.probing_detected', target: 'ip:203.0.113.9' });
    release();
    await expect(failing).rejects.toThrow('boom');
    await outside;
    expect(await store.keys.list()).toEqual([]);
    expect((await audit.list({ limit: 10, order: 'asc' })).map((e) => e.action)).toEqual(['security.probing_detected']);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('serializes concurrent audited actions into one valid chain', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => createAudited(`k${i}`)));
    expect(await store.keys.list()).toHaveLength(20);
    expect(await audit.verify()).toMatchObject({ ok: true, entries: 20 });
  });
});
