// The PostgreSQL migration carries over only the reservations a crash left open: not those a committed settlement
// batch settled — by its tagged close line in the journal and its writer's mark (the current format), or by a
// settled_reservation_batches row (data dirs written by the previous format) — while a tagged line whose batch never
// committed, another writer's line, and a plain open reservation are carried over (and so charged).
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copySqliteToPostgres } from '../../src/store/migrate/copy-to-postgres.js';
import { batchCloseLine } from '../../src/store/sqlite/batch-close-line.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { RESERVATION_JOURNAL_FILE_NAME, SQLITE_FILE_NAME } from '../../src/store/sqlite/sqlite-store.js';
import { acquireTestPostgres, releaseTestPostgres, type TestPostgres } from '../support/postgres-server.js';

let pg: TestPostgres;
const dataDir = mkdtempSync(path.join(tmpdir(), 'kw-migrate-settled-'));

beforeAll(async () => {
  pg = await acquireTestPostgres();
}, 60_000);

afterAll(async () => {
  await releaseTestPostgres();
  await rm(dataDir, { recursive: true, force: true });
}, 30_000);

describe('keywarden migrate: open reservations', () => {
  it('skips reservations settled by a committed batch, in either format, and carries over the rest', async () => {
    const db = openDatabase(path.join(dataDir, SQLITE_FILE_NAME));
    db.prepare('INSERT INTO settled_batch_marks (epoch, seq) VALUES (?, ?)').run('writerA00000', 4);
    db.prepare('INSERT INTO settled_reservation_batches (reservation_ids) VALUES (?)').run(JSON.stringify(['res_legacy']));
    db.close();
    const ids = ['res_open', 'res_tagged', 'res_uncommitted', 'res_other_writer', 'res_legacy', 'res_old_close'];
    const journal = path.join(dataDir, RESERVATION_JOURNAL_FILE_NAME);
    writeFileSync(journal, ids.map((id) => `${JSON.stringify({ r: { id, keyId: 'key_m', usd: 0.25, periodKeys: ['lifetime'], createdAt: 1 } })}\n`).join(''));
    appendFileSync(journal, batchCloseLine('writerA00000', 4, ['res_tagged']));
    appendFileSync(journal, batchCloseLine('writerA00000', 5, ['res_uncommitted']));
    appendFileSync(journal, batchCloseLine('writerB00000', 1, ['res_other_writer']));
    appendFileSync(journal, '{"s":"res_old_close"}\n');

    const url = await pg.createDatabase();
    const report = await copySqliteToPostgres(dataDir, url);
    expect(report.openReservations).toBe(3);
    const rows = await pg.query(url, 'SELECT id FROM spend_reservations ORDER BY id');
    expect(rows.rows.map((row: { id: string }) => row.id)).toEqual(['res_open', 'res_other_writer', 'res_uncommitted']);
  }, 60_000);
});
