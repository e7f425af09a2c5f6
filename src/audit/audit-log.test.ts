import { PassThrough } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { openDatabase, type SqliteDatabase } from '../store/sqlite/database.js';
import { SqliteAuditRepository } from '../store/sqlite/audit-repo.js';
import { AuditLog } from './audit-log.js';
import { GENESIS_HASH, entryHash } from './chain.js';
import type { AuditEntry } from './types.js';
import { formatHeadAnchor, parseHeadAnchor, verifyChain } from './verify.js';

let db: SqliteDatabase;
let log: AuditLog;
let clock = 1_700_000_000_000;

async function appendFive(): Promise<void> {
  for (let i = 1; i <= 5; i++) {
    await log.append({ actor: 'admin:adm_1', action: 'key.updated', target: `key:key_${i}`, after: { name: `n${i}` } });
  }
}

/** Deletes rows and re-inserts them in the given order, as someone editing the SQLite file would. */
function moveToEnd(...seqs: number[]): void {
  for (const seq of seqs) {
    const row = db.prepare('SELECT * FROM audit_log WHERE seq = ?').get(seq) as Record<string, unknown>;
    db.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq);
    db.prepare(
      'INSERT INTO audit_log (seq, ts, actor, action, target, before, after, prev_hash, hash) VALUES (@seq, @ts, @actor, @action, @target, @before, @after, @prev_hash, @hash)',
    ).run(row);
  }
}

beforeEach(() => {
  db = openDatabase(':memory:');
  clock = 1_700_000_000_000;
  log = new AuditLog(new SqliteAuditRepository(db), () => (clock += 1000));
});

describe('AuditLog append', () => {
  it('chains entries from the genesis hash with consecutive seqs', async () => {
    await appendFive();
    const entries = await log.list({ limit: 10, order: 'asc' });
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[0]?.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < entries.length; i++) expect(entries[i]?.prevHash).toBe(entries[i - 1]?.hash);
    for (const entry of entries) expect(entry.hash).toBe(entryHash(entry));
    expect(await log.head()).toEqual({ seq: 5, hash: entries[4]?.hash });
  });

  it('stores sanitized summaries: no hash or secret reaches the table', async () => {
    const secret = 'kw_' + 'A'.repeat(38);
    await log.append({
      actor: 'admin:adm_1',
      action: 'key.created',
      target: 'key:key_1',
      after: { id: 'key_1', hash: 'f'.repeat(64), key: secret },
    });
    const raw = JSON.stringify(db.prepare('SELECT * FROM audit_log').all());
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain('f'.repeat(64));
    expect(raw).toContain('kw_…AAAA');
  });

  it('throws KW_AUDIT_UNAVAILABLE when the entry cannot be written', async () => {
    db.exec("CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
    const attempt = log.append({ actor: 'a', action: 'key.revoked', target: 'key:k' });
    await expect(attempt).rejects.toBeInstanceOf(KeywardenError);
    await expect(attempt).rejects.toMatchObject({ code: 'KW_AUDIT_UNAVAILABLE' });
  });
});

describe('AuditLog verify', () => {
  beforeEach(appendFive);

  it('passes on an intact log and against its own head', async () => {
    const head = await log.head();
    expect(await log.verify()).toEqual({ ok: true, entries: 5, head });
    expect((await log.verify({ expectedHead: parseHeadAnchor(formatHeadAnchor(head!))! })).ok).toBe(true);
    expect((await log.verify({ expectedHead: { seq: null, hash: head!.hash } })).ok).toBe(true);
  });

  it('names the entry whose byte was flipped', async () => {
    const row = db.prepare('SELECT after FROM audit_log WHERE seq = 3').get() as { after: string };
    db.prepare('UPDATE audit_log SET after = ? WHERE seq = 3').run(row.after.replace('n3', 'n9'));
    expect(await log.verify()).toMatchObject({ ok: false, seq: 3, reason: 'hash_mismatch' });
  });

  it('names the entry when a flipped byte makes its summary unparseable', async () => {
    const row = db.prepare('SELECT after FROM audit_log WHERE seq = 2').get() as { after: string };
    db.prepare('UPDATE audit_log SET after = ? WHERE seq = 2').run(row.after.replace('{', '['));
    expect(await log.verify()).toMatchObject({ ok: false, seq: 2, reason: 'hash_mismatch' });
  });

  it('names a deleted row', async () => {
    db.prepare('DELETE FROM audit_log WHERE seq = 3').run();
    expect(await log.verify()).toMatchObject({ ok: false, seq: 3, reason: 'missing' });
  });

  it('names the first of two swapped rows', async () => {
    moveToEnd(3, 4, 5);
    moveToEnd(3, 5);
    // storage order is now 1, 2, 4, 3, 5
    const order = (db.prepare('SELECT seq FROM audit_log ORDER BY rowid').all() as Array<{ seq: number }>).map((r) => r.seq);
    expect(order).toEqual([1, 2, 4, 3, 5]);
    expect(await log.verify()).toMatchObject({ ok: false, seq: 3, reason: 'reordered' });
  });

  it('names a row moved to the end', async () => {
    moveToEnd(2);
    expect(await log.verify()).toMatchObject({ ok: false, seq: 2, reason: 'reordered' });
  });

  it('names the next entry when an entry was rewritten and re-hashed', async () => {
    const entry = (await log.list({ fromSeq: 3, limit: 1, order: 'asc' }))[0] as AuditEntry;
    const forged = { ...entry, actor: 'admin:someone_else' };
    db.prepare('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 3').run(forged.actor, entryHash(forged));
    expect(await log.verify()).toMatchObject({ ok: false, seq: 4, reason: 'broken_link' });
  });

  it('catches a truncated tail only against a saved head, and names the first lost entry', async () => {
    const saved = await log.head();
    db.prepare('DELETE FROM audit_log WHERE seq >= 4').run();
    expect((await log.verify()).ok).toBe(true);
    expect(await log.verify({ expectedHead: { seq: null, hash: saved!.hash } })).toMatchObject({ ok: false, seq: 4, reason: 'truncated' });
  });

  it('catches a tail rewritten after truncation when the head carries its seq', async () => {
    const saved = await log.head();
    db.prepare('DELETE FROM audit_log WHERE seq = 5').run();
    await log.append({ actor: 'admin:adm_1', action: 'key.updated', target: 'key:key_5', after: { name: 'other' } });
    expect(await log.verify({ expectedHead: saved! })).toMatchObject({ ok: false, seq: 5, reason: 'head_mismatch' });
  });
});

describe('AuditLog export', () => {
  it('writes JSON lines that verify offline, and fail once edited', async () => {
    await appendFive();
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    expect(await log.exportJsonl(out)).toBe(5);
    const lines = Buffer.concat(chunks).toString('utf8').trim().split('\n');
    const entries = lines.map((line) => JSON.parse(line) as AuditEntry & { time: string });
    expect(entries[0]?.time).toBe(new Date(entries[0]!.ts).toISOString());
    expect(await verifyChain(entries)).toMatchObject({ ok: true, entries: 5 });
    entries[1] = { ...entries[1]!, target: 'key:key_other' };
    expect(await verifyChain(entries)).toMatchObject({ ok: false, seq: 2, reason: 'hash_mismatch' });
  });

  it('pages through logs longer than one page', async () => {
    for (let i = 0; i < 1_203; i++) await log.append({ actor: 'a', action: 'key.updated', target: `key:${i}` });
    expect(await log.verify()).toMatchObject({ ok: true, entries: 1_203, head: { seq: 1_203 } });
  });
});
