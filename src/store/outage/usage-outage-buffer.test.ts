import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageRecorder } from '../../gateway/usage-recorder.js';
import type { UsageRecord, UsageRepository } from '../types.js';
import { UsageOutageBuffer, type OutageBufferState } from './usage-outage-buffer.js';
import { SPILL_FILE_NAME, UsageSpillFile } from './usage-spill-file.js';

/** A usage table that can be "unreachable" and, like both stores, ignores an id it already has. */
class FlakyUsageTable {
  readonly rows = new Map<string, UsageRecord>();
  readonly order: string[] = [];
  down = false;
  /** Fail the n-th insert from now (1 = the next one), to simulate a crash part-way through a replay. */
  failOnCall = 0;
  calls = 0;
  async insertMany(records: readonly UsageRecord[]): Promise<void> {
    await Promise.resolve();
    this.calls++;
    if (this.down || (this.failOnCall > 0 && --this.failOnCall === 0)) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    for (const r of records) {
      if (this.rows.has(r.id)) continue;
      this.rows.set(r.id, r);
      this.order.push(r.id);
    }
  }
  asRepo(): UsageRepository {
    return { insertMany: (records: readonly UsageRecord[]) => this.insertMany(records) } as unknown as UsageRepository;
  }
}

let seq = 0;
function usage(keyId = 'key_a'): UsageRecord {
  seq++;
  return {
    id: `req_${String(seq).padStart(6, '0')}`, ts: 1_700_000_000_000 + seq, keyId, upstreamId: 'ups_1', endpoint: '/v1/chat/completions',
    model: 'gpt-4o-mini', status: 200, stream: false, promptTokens: 12, cachedTokens: 0, completionTokens: 7, reasoningTokens: 0,
    costUsd: 0.0000060, priceMissing: false, latencyMs: 3.5, clientIp: '127.0.0.1', errorCode: null, upstreamKeyId: 'uk_1',
  };
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kw-spill-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function recorderOn(table: FlakyUsageTable, dir: string, maxRecords: number, maxBytes = 10 * 1024 ** 2, states: OutageBufferState[] = []) {
  const outage = new UsageOutageBuffer({ maxRecords, spill: new UsageSpillFile(dir, maxBytes), onStateChange: (s) => states.push(s) });
  // A long interval: the test drives every flush itself.
  const recorder = new UsageRecorder(table.asRepo(), { flushIntervalMs: 60_000, onError: () => undefined, outage });
  return { recorder, outage, states };
}

describe('usage during a store outage: bounded memory, spill file, replay', () => {
  it('200 records with a memory bound of 50: memory never holds more than 50, all 200 land once and in order, the file is removed', async () => {
    const table = new FlakyUsageTable();
    const dir = tempDir();
    const { recorder } = recorderOn(table, dir, 50);
    table.down = true;
    const sent: string[] = [];
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      const r = usage();
      sent.push(r.id);
      recorder.record(r);
      if (i % 10 === 9) await recorder.flush(); // the retry timer, driven by hand: it fails while down
      peak = Math.max(peak, recorder.pending);
    }
    expect(peak).toBeLessThanOrEqual(50);
    const file = path.join(dir, SPILL_FILE_NAME);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const onDisk = readFileSync(file, 'utf8').trim().split('\n');
    expect(onDisk.length + recorder.pending).toBe(200);
    expect(table.rows.size).toBe(0);

    table.down = false;
    await recorder.flush();
    expect(table.rows.size).toBe(200);
    expect(table.order).toEqual(sent);
    expect(existsSync(file)).toBe(false);
    expect(recorder.pending).toBe(0);
  });

  it('a crash part-way through the replay replays the whole file on the next start: every record once', async () => {
    const table = new FlakyUsageTable();
    const dir = tempDir();
    const first = recorderOn(table, dir, 10);
    table.down = true;
    for (let i = 0; i < 5000; i++) first.recorder.record(usage());
    await first.recorder.flush();
    expect(first.recorder.pending).toBeLessThanOrEqual(10);
    // The store returns; the replay's second chunk (of 2,000) fails, as if the process died mid-replay.
    table.down = false;
    table.failOnCall = 2;
    await first.recorder.flush();
    expect(table.rows.size).toBe(2000);
    expect(existsSync(path.join(dir, SPILL_FILE_NAME))).toBe(true);
    // What the killed process still held in memory is gone with it (at most the memory bound).
    const inMemory = first.recorder.pending;
    expect(inMemory).toBeLessThanOrEqual(10);
    // "Restart": a new recorder on the same directory (the old one's memory is gone, as after kill -9).
    const second = recorderOn(table, dir, 10);
    await second.recorder.flush();
    expect(table.rows.size).toBe(5000 - inMemory);
    expect(new Set(table.order).size).toBe(table.order.length);
    expect(existsSync(path.join(dir, SPILL_FILE_NAME))).toBe(false);
  });

  it('past the disk bound: the buffer reports full once, records stay in memory (none dropped), requests are refused, and recovery reports the refusals', async () => {
    const table = new FlakyUsageTable();
    const dir = tempDir();
    const one = Buffer.byteLength(`${JSON.stringify(usage())}\n`);
    const { recorder, outage, states } = recorderOn(table, dir, 5, one * 12);
    table.down = true;
    for (let i = 0; i < 100; i++) recorder.record(usage());
    await recorder.flush();
    expect(outage.full).toBe(true);
    expect(recorder.full).toBe(true);
    expect(states).toEqual([{ full: true, spillBytes: expect.any(Number) as number, refusedRequests: 0 }]);
    expect(statSync(path.join(dir, SPILL_FILE_NAME)).size).toBeLessThanOrEqual(one * 12);
    const onDisk = readFileSync(path.join(dir, SPILL_FILE_NAME), 'utf8').trim().split('\n').length;
    expect(onDisk + recorder.pending).toBe(100);
    for (let i = 0; i < 3; i++) {
      let thrown: unknown = null;
      try {
        outage.refuse();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ code: 'KW_STORE_UNAVAILABLE', status: 503 });
    }

    table.down = false;
    await recorder.flush();
    expect(table.rows.size).toBe(100);
    expect(outage.full).toBe(false);
    expect(states[1]).toMatchObject({ full: false, refusedRequests: 3 });
  });

  it('a torn last line (crash mid-append) and a hand-edited line are skipped, never inserted half-read', async () => {
    const dir = tempDir();
    const spill = new UsageSpillFile(dir, 1024 ** 2);
    const good = [usage(), usage()];
    expect(spill.append(good)).toBe(2);
    appendFileSync(spill.file, `${JSON.stringify({ ...usage(), status: 'two hundred' })}\n`);
    appendFileSync(spill.file, JSON.stringify(usage()).slice(0, 40));
    const written: UsageRecord[] = [];
    const fresh = new UsageSpillFile(dir, 1024 ** 2);
    expect(fresh.hasRecords).toBe(true);
    const result = await fresh.replay((records) => Promise.resolve(void written.push(...records)));
    expect(result).toEqual({ replayed: 2, skipped: 2 });
    expect(written).toEqual(good);
  });

  it('huge and hostile lines: a 5 MB line and a deeply nested one are skipped without throwing', async () => {
    const dir = tempDir();
    const spill = new UsageSpillFile(dir, 64 * 1024 ** 2);
    appendFileSync(spill.file, `${JSON.stringify({ ...usage(), model: 'm'.repeat(5 * 1024 ** 2) })}\n`);
    appendFileSync(spill.file, `${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    const ok = usage();
    appendFileSync(spill.file, `${JSON.stringify(ok)}\n`);
    const written: UsageRecord[] = [];
    const result = await new UsageSpillFile(dir, 64 * 1024 ** 2).replay((records) => Promise.resolve(void written.push(...records)));
    expect(result).toEqual({ replayed: 1, skipped: 2 });
    expect(written).toEqual([ok]);
  });

  it('records spilled while a replay runs are neither read half-way nor deleted with it; a failed replay keeps the order', async () => {
    const dir = tempDir();
    const spill = new UsageSpillFile(dir, 1024 ** 2);
    const older = Array.from({ length: 5 }, () => usage());
    const newer = Array.from({ length: 3 }, () => usage());
    spill.append(older);
    // A replay that fails after new records were spilled: the file reads older, then newer.
    await expect(
      spill.replay(async (records) => {
        spill.append(newer);
        await Promise.resolve(records);
        throw new Error('connection lost');
      }),
    ).rejects.toThrow('connection lost');
    const ids = (): string[] => readFileSync(spill.file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as UsageRecord).id);
    expect(ids()).toEqual([...older, ...newer].map((r) => r.id));
    // A replay that succeeds while more is spilled: the newest records stay for the next replay.
    const newest = [usage(), usage()];
    const written: UsageRecord[] = [];
    await spill.replay((records) => {
      if (written.length === 0) spill.append(newest);
      written.push(...records);
      return Promise.resolve();
    });
    expect(written.map((r) => r.id)).toEqual([...older, ...newer].map((r) => r.id));
    expect(ids()).toEqual(newest.map((r) => r.id));
    expect(spill.bytes).toBe(statSync(spill.file).size);
  });

  it('closing while the store is still down leaves the queue on disk for the next start', async () => {
    const table = new FlakyUsageTable();
    const dir = tempDir();
    const { recorder } = recorderOn(table, dir, 1000);
    table.down = true;
    for (let i = 0; i < 30; i++) recorder.record(usage());
    await recorder.close();
    expect(readFileSync(path.join(dir, SPILL_FILE_NAME), 'utf8').trim().split('\n')).toHaveLength(30);
    table.down = false;
    await recorderOn(table, dir, 1000).recorder.flush();
    expect(table.rows.size).toBe(30);
  });

  it('while writes succeed nothing is spilled, whatever the queue length', async () => {
    const table = new FlakyUsageTable();
    const dir = tempDir();
    const { recorder } = recorderOn(table, dir, 5);
    for (let i = 0; i < 100; i++) recorder.record(usage());
    expect(recorder.pending).toBe(100);
    expect(existsSync(path.join(dir, SPILL_FILE_NAME))).toBe(false);
    await recorder.flush();
    expect(table.rows.size).toBe(100);
  });
});
