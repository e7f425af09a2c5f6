import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { WalChangeProbe } from './wal-change-probe.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function databaseFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kw-walprobe-'));
  dirs.push(dir);
  return path.join(dir, 'db.sqlite');
}

describe('WAL change probe', () => {
  it('answers false only while no connection has committed since the last read (one read per event-loop turn)', async () => {
    const file = databaseFile();
    const db = openDatabase(file);
    db.exec('CREATE TABLE t (x)');
    const probe = new WalChangeProbe(file);
    try {
      expect(probe.changed()).toBe(true); // nothing known yet
      await nextTurn();
      expect(probe.changed()).toBe(false);
      await nextTurn();
      expect(probe.changed()).toBe(false);
      db.prepare('INSERT INTO t VALUES (1)').run(); // this connection
      await nextTurn();
      expect(probe.changed()).toBe(true);
      await nextTurn();
      expect(probe.changed()).toBe(false);
      const other = openDatabase(file); // another connection, as another process would be
      other.prepare('INSERT INTO t VALUES (2)').run();
      other.close();
      await nextTurn();
      expect(probe.changed()).toBe(true);
      await nextTurn();
      expect(probe.changed()).toBe(false);
      db.pragma('wal_checkpoint(TRUNCATE)'); // a checkpoint that resets the WAL
      db.prepare('INSERT INTO t VALUES (3)').run();
      await nextTurn();
      expect(probe.changed()).toBe(true);
      // A read is not a commit.
      expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 3 });
      await nextTurn();
      expect(probe.changed()).toBe(false);
    } finally {
      probe.close();
      db.close();
    }
  });

  it('reads once per event-loop turn: a commit later in the same turn shows on the next turn, not before', async () => {
    const file = databaseFile();
    const db = openDatabase(file);
    db.exec('CREATE TABLE t (x)');
    const other = openDatabase(file);
    const probe = new WalChangeProbe(file);
    try {
      probe.changed();
      await nextTurn();
      expect(probe.changed()).toBe(false); // this turn's read
      other.prepare('INSERT INTO t VALUES (1)').run();
      expect(probe.changed()).toBe(false); // still the turn's read
      await Promise.resolve(); // a microtask is the same turn
      expect(probe.changed()).toBe(false);
      await nextTurn();
      expect(probe.changed()).toBe(true); // the next turn reads again and sees it
      expect(probe.changed()).toBe(false);
    } finally {
      probe.close();
      other.close();
      db.close();
    }
  });

  it('sees every one of many commits by another connection, each in the next turn', async () => {
    const file = databaseFile();
    const db = openDatabase(file);
    db.exec('CREATE TABLE t (x)');
    const other = openDatabase(file);
    const insert = other.prepare('INSERT INTO t VALUES (?)');
    const probe = new WalChangeProbe(file);
    try {
      probe.changed();
      let missed = 0;
      for (let i = 0; i < 300; i++) {
        // Past the default auto-checkpoint (1,000 pages) the WAL wraps around: the probe must see those commits too.
        insert.run('x'.repeat(3000));
        await nextTurn();
        if (!probe.changed()) missed++;
        await nextTurn();
        if (probe.changed()) missed++; // and no change reported twice
      }
      expect(missed).toBe(0);
    } finally {
      probe.close();
      other.close();
      db.close();
    }
  });

  it('answers true every time when there is nothing to read (in-memory database, missing file)', () => {
    const inMemory = new WalChangeProbe(null);
    // Within one turn too: with nothing to read, the caller must ask SQLite every time.
    expect([inMemory.changed(), inMemory.changed(), inMemory.changed()]).toEqual([true, true, true]);
    const missing = new WalChangeProbe(path.join(databaseFile(), 'nowhere.sqlite'));
    expect([missing.changed(), missing.changed()]).toEqual([true, true]);
  });
});
