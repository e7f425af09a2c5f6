import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { acquireTestPostgres, releaseTestPostgres, type TestPostgres } from '../support/postgres-server.js';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await acquireTestPostgres();
}, 60_000);
afterAll(() => releaseTestPostgres(), 30_000);

const reservation = (id: string, usd: number) => ({ id, keyId: 'key_r', usd, periodKeys: ['day:2026-01-01'], createdAt: 1, projectId: 'prj_r', projectPeriodKeys: ['month:2026-01'] });

describe('the PostgreSQL spend ledger across replicas', () => {
  it("never charges a live replica's open reservation; charges a dead one's exactly once, even when two replicas recover at once", async () => {
    const url = await pg.createDatabase();
    const dying = await PostgresStore.open({ url });
    const survivor = await PostgresStore.open({ url });
    const late = await PostgresStore.open({ url });
    try {
      await dying.spend.reserve(reservation('res_dead_1', 0.3));
      await dying.spend.reserve(reservation('res_dead_2', 0.2));
      await survivor.spend.reserve(reservation('res_live', 0.7));
      // Everyone is alive: nothing is charged.
      expect(await late.spend.reconcileOpenReservations()).toBe(0);
      // The replica goes away with its reservations open (as after kill -9: its session lock is released).
      await dying.close();
      const recovered = await Promise.all([survivor.spend.reconcileOpenReservations(), late.spend.reconcileOpenReservations()]);
      expect(recovered[0] + recovered[1]).toBe(2);
      expect((await late.spend.spentFor('key_r'))['day:2026-01-01']).toBeCloseTo(0.5, 12);
      expect((await late.spend.spentFor('prj_r'))['month:2026-01']).toBeCloseTo(0.5, 12);
      expect(await late.spend.reconcileOpenReservations()).toBe(0);
      // The live one is still open, then settled once at its real cost.
      await survivor.spend.settle({ reservationId: 'res_live', keyId: 'key_r', periodKeys: ['day:2026-01-01'], usd: 0.05 });
      await survivor.flushSpend();
      expect((await pg.query(url, 'SELECT COUNT(*)::int AS n FROM spend_reservations')).rows[0]).toEqual({ n: 0 });
      expect((await late.spend.spentFor('key_r'))['day:2026-01-01']).toBeCloseTo(0.55, 12);
    } finally {
      await survivor.close();
      await late.close();
    }
  }, 30_000);

  it('a settlement batch that cannot be written stays queued and is written once the database returns', async () => {
    const url = await pg.createDatabase();
    const store = await PostgresStore.open({ url, connectTimeoutMs: 500 });
    try {
      await pg.stop();
      await store.spend.settle({ reservationId: null, keyId: 'key_q', periodKeys: ['day:x'], usd: 0.25 });
      await expect(store.flushSpend()).rejects.toThrow();
      await pg.start();
      const deadline = Date.now() + 10_000;
      let spent: number | undefined;
      while (Date.now() < deadline) {
        spent = await store.spend.spentFor('key_q').then((s) => s['day:x'], () => undefined);
        if (spent !== undefined) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(spent).toBeCloseTo(0.25, 12);
    } finally {
      await store.close();
    }
  }, 30_000);

  it('migrations are safe when several replicas start at once', async () => {
    const url = await pg.createDatabase();
    const stores = await Promise.all(Array.from({ length: 5 }, () => PostgresStore.open({ url })));
    try {
      expect((await pg.query(url, 'SELECT version FROM keywarden_schema')).rows).toHaveLength(1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  }, 30_000);
});
