import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, entryHash, GENESIS_HASH, type AuditEntry } from '../../src/audit/index.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import { startServer } from '../../src/server/start-server.js';
import { SqliteStore } from '../../src/store/index.js';
import { SqliteAuditRepository } from '../../src/store/sqlite/audit-repo.js';
import { cli } from '../cli/run-cli.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

let h: Harness;
let raw: Database.Database;

beforeEach(async () => {
  h = await startHarness({ withUpstream: false });
  for (let i = 0; i < 6; i++) await h.createKey({ name: `k${i}` });
  // The attacker: a second connection on the live SQLite file, as anyone with write access to it has.
  raw = new Database(path.join(h.dataDir, 'keywarden.sqlite'));
});
afterEach(async () => {
  raw.close();
  await h.close();
});

const anchorFile = (): string => path.join(h.dataDir, 'audit.anchor');

async function verify(): Promise<{ status: number; stdout: string; json: Record<string, unknown> }> {
  const env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken };
  const text = await cli(['audit', 'verify'], env);
  const json = await cli(['audit', 'verify', '--json'], env);
  expect(json.status).toBe(text.status);
  return { status: text.status, stdout: text.stdout, json: JSON.parse(json.stdout) as Record<string, unknown> };
}

interface Row {
  seq: number;
  ts: number;
  actor: string;
  action: string;
  target: string;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
  mac: string | null;
}
const rows = (): Row[] => raw.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Row[];
const lastSeq = (): number => (raw.prepare('SELECT MAX(seq) AS n FROM audit_log').get() as { n: number }).n;

describe('anchored audit chain: plain `audit verify` (no --head)', () => {
  it('passes on the untouched log, anchored, with a 0600 anchor file naming the head', async () => {
    const result = await verify();
    expect(result.status).toBe(0);
    expect(result.json).toMatchObject({ ok: true, anchored: true, entries: 7 });
    expect(result.stdout).toContain('head matches the signed anchor');
    expect(statSync(anchorFile()).mode & 0o777).toBe(0o600);
    const anchor = JSON.parse(readFileSync(anchorFile(), 'utf8')) as { seq: number; hash: string; mac: string };
    expect(anchor.seq).toBe(lastSeq());
    expect(anchor.hash).toBe(rows().at(-1)?.hash);
    expect(anchor.mac).toMatch(/^[0-9a-f]{64}$/);
    for (const row of rows()) expect(row.mac).toMatch(/^[0-9a-f]{64}$/);
    // `audit head` still prints the head; the API also publishes its HMAC for keeping elsewhere.
    const printed = await cli(['audit', 'head'], { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken });
    expect(printed.stdout.trim()).toBe(`${anchor.seq}:${anchor.hash}`);
    expect((await h.admin('GET', '/audit/head')).body).toMatchObject({ seq: anchor.seq, hash: anchor.hash, mac: anchor.mac });
  });

  it('detects the last entry deleted', async () => {
    const end = lastSeq();
    raw.prepare('DELETE FROM audit_log WHERE seq = ?').run(end);
    const result = await verify();
    expect(result.status).toBe(1);
    expect(result.json).toMatchObject({ ok: false, reason: 'truncated', seq: end });
    expect(result.stdout).toContain(`TAMPERED at entry ${end}`);
    expect(result.stdout).toContain('1 entry was deleted from the end');
  });

  it('detects the last N entries deleted', async () => {
    const end = lastSeq();
    raw.prepare('DELETE FROM audit_log WHERE seq > ?').run(end - 4);
    const result = await verify();
    expect(result.status).toBe(1);
    expect(result.json).toMatchObject({ ok: false, reason: 'truncated', seq: end - 3 });
    expect(result.stdout).toContain('4 entries were deleted from the end');
  });

  it('detects every row deleted', async () => {
    raw.exec('DELETE FROM audit_log');
    const result = await verify();
    expect(result.status).toBe(1);
    expect(result.json).toMatchObject({ ok: false, reason: 'truncated', seq: 1 });
  });

  /** Rewrites the tail from `fromSeq` with plain SHA-256, re-chained, as an attacker without the vault key can. */
  function rechainTail(fromSeq: number, mac: (row: Row) => string | null): void {
    const all = rows();
    let prevHash = all.find((r) => r.seq === fromSeq - 1)?.hash ?? GENESIS_HASH;
    raw.prepare('DELETE FROM audit_log WHERE seq >= ?').run(fromSeq);
    const insert = raw.prepare(
      'INSERT INTO audit_log (seq, ts, actor, action, target, before, after, prev_hash, hash, mac) VALUES (@seq, @ts, @actor, @action, @target, @before, @after, @prev_hash, @hash, @mac)',
    );
    for (const row of all.filter((r) => r.seq >= fromSeq)) {
      const entry: Omit<AuditEntry, 'hash'> = {
        seq: row.seq,
        ts: row.ts,
        actor: 'admin:someone_else',
        action: row.action,
        target: row.target,
        before: row.before === null ? null : (JSON.parse(row.before) as AuditEntry['before']),
        after: row.after === null ? null : (JSON.parse(row.after) as AuditEntry['after']),
        prevHash,
      };
      const hash = entryHash(entry);
      const forged: Row = { ...row, actor: entry.actor, prev_hash: prevHash, hash, mac: null };
      insert.run({ ...forged, mac: mac(forged) });
      prevHash = hash;
    }
  }

  it('detects a tail rewritten and re-chained with plain SHA-256 and the HMACs dropped', async () => {
    const from = lastSeq() - 2;
    rechainTail(from, () => null);
    const result = await verify();
    expect(result.status).toBe(1);
    expect(result.json).toMatchObject({ ok: false, reason: 'unanchored_entry', seq: from });
  });

  it('detects a re-chained tail with made-up HMACs, and the old HMACs copied over', async () => {
    const from = lastSeq() - 1;
    const oldMacs = new Map(rows().map((r) => [r.seq, r.mac]));
    rechainTail(from, (row) => oldMacs.get(row.seq) ?? null);
    const result = await verify();
    expect(result.status).toBe(1);
    expect(result.json).toMatchObject({ ok: false, reason: 'mac_mismatch', seq: from });
  });

  it('detects the whole log rewritten without HMACs (the anchor no longer matches its head)', async () => {
    rechainTail(1, () => null);
    const result = await verify();
    expect(result.status).toBe(1);
    expect(result.json).toMatchObject({ ok: false, reason: 'head_mismatch', seq: lastSeq() });
  });

  it('detects truncation together with a forged anchor in the vault metadata and the file', async () => {
    const end = lastSeq();
    raw.prepare('DELETE FROM audit_log WHERE seq = ?').run(end);
    const head = rows().at(-1)!;
    const forged = JSON.stringify({ seq: head.seq, hash: head.hash, mac: 'ab'.repeat(32) });
    raw.prepare("UPDATE meta SET value = ? WHERE name = 'vault.audit_anchor'").run(forged);
    writeFileSync(anchorFile(), forged);
    const result = await verify();
    expect(result.status).toBe(1);
    expect(result.json).toMatchObject({ ok: false, reason: 'anchor_forged' });
  });

  it('detects the anchor file deleted', async () => {
    rmSync(anchorFile());
    const result = await verify();
    expect(result.status).toBe(1);
    expect(result.json).toMatchObject({ ok: false, reason: 'anchor_missing' });
    expect(result.stdout).toContain('audit.anchor');
  });

  it('detects the anchor file rolled back to an older (authentic) copy, alone or with a truncation', async () => {
    const old = readFileSync(anchorFile(), 'utf8');
    const oldSeq = lastSeq();
    await h.createKey({ name: 'later-1' });
    await h.createKey({ name: 'later-2' });
    writeFileSync(anchorFile(), old);
    const rolledBack = await verify();
    expect(rolledBack.status).toBe(1);
    expect(rolledBack.json).toMatchObject({ ok: false, reason: 'anchor_mismatch', seq: oldSeq + 1 });
    // Truncating the table back to the old anchor does not help: the vault metadata copy committed with each entry.
    raw.prepare('DELETE FROM audit_log WHERE seq > ?').run(oldSeq);
    expect((await verify()).json).toMatchObject({ ok: false, reason: 'anchor_mismatch' });
  });

  it('detects the vault-metadata anchor deleted', async () => {
    raw.prepare("DELETE FROM meta WHERE name = 'vault.audit_anchor'").run();
    expect((await verify()).json).toMatchObject({ ok: false, reason: 'anchor_missing' });
  });

  it('does not re-anchor a signed log whose anchors were both deleted, across a restart', async () => {
    raw.prepare("DELETE FROM meta WHERE name = 'vault.audit_anchor'").run();
    rmSync(anchorFile());
    const end = lastSeq();
    raw.prepare('DELETE FROM audit_log WHERE seq = ?').run(end);
    raw.close();
    await h.restart();
    raw = new Database(path.join(h.dataDir, 'keywarden.sqlite'));
    const result = await verify();
    expect(result.status).toBe(1);
    expect(result.json).toMatchObject({ ok: false, reason: 'anchor_missing' });
  });
});

describe('anchored audit chain: a log from before anchoring', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('verifies old entries as before, reports them un-anchored, and anchors everything after', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-legacy-audit-'));
    dirs.push(dataDir);
    const token = `kwadm_${'Qz8'.repeat(4)}${Date.now().toString(36)}Xy7pLm2Nv4Rt6Wb9`;
    const boot = () =>
      startServer({
        config: parseConfig({ dataDir, server: { host: '127.0.0.1', port: 0 } }),
        env: { KEYWARDEN_ADMIN_TOKEN: token },
        logger: createLogger('silent', new PassThrough()),
      });
    // First start creates the vault; then three entries are written the old way (no signer, no anchor).
    await (await boot()).close();
    const store = SqliteStore.open(dataDir);
    store.db.prepare('UPDATE audit_log SET mac = NULL').run();
    store.db.prepare("DELETE FROM meta WHERE name = 'vault.audit_anchor'").run();
    rmSync(path.join(dataDir, 'audit.anchor'));
    const legacy = new AuditLog(new SqliteAuditRepository(store.db));
    for (let i = 0; i < 3; i++) await legacy.append({ actor: 'cli:local', action: 'key.updated', target: `key:${i}` });
    const legacyCount = (await legacy.head())!.seq;
    await store.close();

    const running = await boot();
    try {
      const env = { KEYWARDEN_URL: running.url, KEYWARDEN_ADMIN_TOKEN: token };
      const before = await cli(['audit', 'verify', '--json'], env);
      expect(JSON.parse(before.stdout)).toMatchObject({ ok: true, anchored: true, firstAnchoredSeq: null, entries: legacyCount });
      expect((await cli(['keys', 'create', '--name', 'after', '--json'], env)).status).toBe(0);
      const after = await cli(['audit', 'verify'], env);
      expect(after.status).toBe(0);
      expect(after.stdout).toContain(`entries 1-${legacyCount} predate anchoring (un-anchored`);
      // Truncating the first signed entry is still caught.
      const attacker = new Database(path.join(dataDir, 'keywarden.sqlite'));
      attacker.prepare('DELETE FROM audit_log WHERE seq = ?').run(legacyCount + 1);
      attacker.close();
      const cut = await cli(['audit', 'verify', '--json'], env);
      expect(cut.status).toBe(1);
      expect(JSON.parse(cut.stdout)).toMatchObject({ ok: false, reason: 'truncated', seq: legacyCount + 1 });
    } finally {
      await running.close();
    }
  });
});
