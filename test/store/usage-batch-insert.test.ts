import { describe, expect, it } from 'vitest';
import { UsageRecorder } from '../../src/gateway/usage-recorder.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteUsageRepository } from '../../src/store/sqlite/usage-repo.js';
import type { UsageRecord, UsageRepository } from '../../src/store/index.js';

/** Every field distinct per record, so a value bound to the wrong column or row shows. */
function record(i: number, overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    id: `u_${String(i).padStart(6, '0')}`,
    ts: 1_800_000_000_000 + i,
    keyId: `key_${i % 7}`,
    upstreamId: i % 3 === 0 ? null : `ups_${i}`,
    endpoint: `/v1/e${i % 5}`,
    model: i % 4 === 0 ? null : `model-${i}`,
    status: 200 + (i % 300),
    stream: i % 2 === 0,
    promptTokens: i * 3 + 1,
    cachedTokens: i * 3 + 2,
    completionTokens: i * 3 + 3,
    reasoningTokens: i,
    costUsd: i % 6 === 0 ? null : i / 1000,
    priceMissing: i % 6 === 0,
    latencyMs: i + 0.25,
    clientIp: `10.0.${i % 256}.${(i * 7) % 256}`,
    errorCode: i % 9 === 0 ? `code_${i}` : null,
    upstreamKeyId: i % 2 === 0 ? `uk_${i}` : null,
    ...overrides,
  };
}

function openRepo(): { repo: SqliteUsageRepository; count: () => number } {
  const db = openDatabase(':memory:');
  return { repo: new SqliteUsageRepository(db), count: () => (db.prepare('SELECT COUNT(*) AS n FROM usage').get() as { n: number }).n };
}

describe('usage batch insert (multi-row statements)', () => {
  it('stores every record of every batch size exactly, across block boundaries', async () => {
    const { repo, count } = openRepo();
    let next = 0;
    const sizes = [1, 2, 3, 7, 63, 64, 65, 127, 128, 129, 200, 1000];
    const written: UsageRecord[] = [];
    for (const size of sizes) {
      const batch = Array.from({ length: size }, () => record(next++));
      await repo.insertMany(batch);
      written.push(...batch);
    }
    expect(count()).toBe(written.length);
    const stored = await repo.list({});
    // A null upstream key id reads back as absent (records from before the column existed look the same).
    expect(stored).toEqual(written.map((r) => (r.upstreamKeyId === null ? { ...r, upstreamKeyId: undefined } : r)));
  });

  it('keeps the first of two records with one id, within a batch and across batches (a replayed flush)', async () => {
    const { repo, count } = openRepo();
    const batch = Array.from({ length: 70 }, (_, i) => record(i));
    batch[65] = record(3, { keyId: 'hijack' }); // same id as batch[3], in another 64-row block
    await repo.insertMany(batch);
    await repo.insertMany(batch.slice(0, 10).map((r) => ({ ...r, status: 599 })));
    expect(count()).toBe(69);
    const stored = await repo.list({});
    expect(stored.find((r) => r.id === record(3).id)?.keyId).toBe(record(3).keyId);
    expect(stored.every((r) => r.status !== 599)).toBe(true);
  });

  it('writes a batch whole or not at all, and reports a failure as a rejection (never a synchronous throw)', async () => {
    const { repo, count } = openRepo();
    const batch = Array.from({ length: 100 }, (_, i) => record(i));
    // A value SQLite cannot bind, in the last block: the 64- and 32-row blocks before it were already run. (A symbol:
    // the values are passed as separate arguments, where a plain object would be taken for named parameters.)
    const bad = [...batch, { ...record(100), keyId: Symbol('unbindable') as unknown as string }];
    let pending: Promise<void> | undefined;
    expect(() => {
      pending = repo.insertMany(bad);
    }).not.toThrow();
    await expect(pending).rejects.toThrow(/bind/);
    expect(count()).toBe(0);
    await repo.insertMany(batch);
    expect(count()).toBe(100);
  });
});

/** A repository that fails the first `failures` flushes, then writes into the real SQLite repository. */
function flakyRepo(inner: UsageRepository, failures: number): UsageRepository & { attempts: number } {
  const flaky = {
    attempts: 0,
    insertMany(records: readonly UsageRecord[]): Promise<void> {
      flaky.attempts++;
      if (flaky.attempts <= failures) return Promise.reject(new Error('disk full'));
      return inner.insertMany(records);
    },
  };
  return flaky as unknown as UsageRepository & { attempts: number };
}

describe('UsageRecorder never loses a record', () => {
  it('keeps records through failed flushes and writes each exactly once on close, in order', async () => {
    const { repo, count } = openRepo();
    const flaky = flakyRepo(repo, 2);
    const flushed: string[] = [];
    const errors: unknown[] = [];
    const recorder = new UsageRecorder(flaky, {
      flushIntervalMs: 1,
      onError: (err) => errors.push(err),
      onFlushed: (records) => flushed.push(...records.map((r) => r.id)),
    });
    const all = Array.from({ length: 150 }, (_, i) => record(i));
    for (const r of all.slice(0, 50)) recorder.record(r);
    await recorder.flush(); // fails: kept
    for (const r of all.slice(50, 100)) recorder.record(r);
    await recorder.flush(); // fails again: kept, ahead of the newer ones
    expect(recorder.pending).toBe(100);
    expect(count()).toBe(0);
    for (const r of all.slice(100)) recorder.record(r);
    await recorder.close();
    expect(errors).toHaveLength(2);
    expect(recorder.pending).toBe(0);
    expect(count()).toBe(150);
    expect((await repo.list({})).map((r) => r.id)).toEqual(all.map((r) => r.id));
    // The monitor sees each record once, and only once it is stored.
    expect(flushed).toEqual(all.map((r) => r.id));
  });

  it('keeps a batch whose write throws synchronously (a repository outside the contract), and retries it on its own', async () => {
    const { repo, count } = openRepo();
    let throws = 1;
    const throwing = {
      insertMany(records: readonly UsageRecord[]): Promise<void> {
        if (throws-- > 0) throw new Error('SQLITE_BUSY');
        return repo.insertMany(records);
      },
    } as unknown as UsageRepository;
    const errors: unknown[] = [];
    const recorder = new UsageRecorder(throwing, { flushIntervalMs: 1, onError: (err) => errors.push(err) });
    for (let i = 0; i < 10; i++) recorder.record(record(i));
    await recorder.flush();
    expect(errors).toHaveLength(1);
    expect(recorder.pending).toBe(10);
    // The retry timer (5 × the interval) writes it without another call.
    for (let waited = 0; count() < 10 && waited < 2000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(count()).toBe(10);
    await recorder.close();
  });

  it('keeps records recorded while a flush is in flight', async () => {
    const { repo, count } = openRepo();
    let release: () => void = () => undefined;
    const slow = {
      insertMany(records: readonly UsageRecord[]): Promise<void> {
        return new Promise<void>((resolve) => {
          release = resolve;
        }).then(() => repo.insertMany(records));
      },
    } as unknown as UsageRepository;
    const recorder = new UsageRecorder(slow, { flushIntervalMs: 1, onError: () => undefined });
    recorder.record(record(0));
    const first = recorder.flush();
    recorder.record(record(1));
    recorder.record(record(2));
    release();
    await first;
    const closing = recorder.close();
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await closing;
    expect(count()).toBe(3);
  });
});
