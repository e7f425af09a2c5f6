import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcquireRequest, Ticket } from '../../src/limits/backend.js';
import { periodKey } from '../../src/limits/periods.js';
import { startCluster, type Cluster } from './redis-cluster.js';

let c: Cluster;
beforeAll(async () => {
  c = await startCluster({ replicas: 3 });
});
afterAll(() => c.close());

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(25);
  }
}

const BUDGET = 1;
const RESERVE = 0.001;

async function budgetKey(): Promise<{ id: string; day: string; request: () => AcquireRequest }> {
  const { id } = await c.h.createKey({ limits: { concurrency: 10, budgets: [{ usd: BUDGET, period: 'day' }] } });
  const day = periodKey('day', c.h.clock.now(), 'UTC');
  const request = (): AcquireRequest => ({
    keyId: id,
    now: c.h.clock.now(),
    rates: [],
    tokens: [],
    concurrency: 10,
    budgets: [{ periodKey: day, limitUsd: BUDGET }],
    reserveUsd: RESERVE,
  });
  return { id, day, request };
}

/** Settled spend in the durable ledger, once the batched settlements are committed. */
async function ledgerSpend(id: string, day: string): Promise<number> {
  await sleep(60);
  return (await c.h.server.services.store.spend.spentFor(id))[day] ?? 0;
}

describe('a replica that reserves, then dies', () => {
  it('leaves leases that expire and are charged in full, exactly once, by the surviving replicas', async () => {
    const { id, day, request } = await budgetKey();
    const live = c.replicas[1]!.backend;
    // The dead replica never starts its heartbeat: nothing renews its leases after they are taken.
    const dead = await c.extraBackend(600);
    const tickets: Ticket[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await dead.backend.acquire(request());
      if (!result.ok) throw new Error(`refused: ${result.refusal.reason}`);
      tickets.push(result.ticket);
    }
    dead.redis.disconnect();
    expect(await live.inflight(id)).toBe(3);
    expect(await live.budgetRemaining(id, [{ periodKey: day, limitUsd: BUDGET }])).toBeCloseTo(BUDGET - 3 * RESERVE, 12);
    expect(await ledgerSpend(id, day)).toBe(0);

    // Lease 600 ms + one beat of the survivors (1 s) at most.
    await until(async () => (await live.inflight(id)) === 0 && (await live.spent(id, [day]))[day]! > 0, 5000);
    // Every surviving replica sweeps again, all at once: nothing is charged twice.
    for (let round = 0; round < 3; round++) await Promise.all(c.replicas.map((r) => r.backend.beat()));
    expect((await live.spent(id, [day]))[day]).toBeCloseTo(3 * RESERVE, 12);
    expect(await ledgerSpend(id, day)).toBeCloseTo(3 * RESERVE, 12);
    expect(await c.spentOf(id)).toBeCloseTo(3 * RESERVE, 12);
    expect(await live.budgetRemaining(id, [{ periodKey: day, limitUsd: BUDGET }])).toBeCloseTo(BUDGET - 3 * RESERVE, 12);

    // The "dead" replica comes back and settles one of its tickets late: it was charged in full already.
    const revived = await c.extraBackend(600);
    await revived.backend.settle(tickets[0]!, { costUsd: 0.0002, tokensUsed: 0 }, c.h.clock.now());
    await revived.backend.flush();
    expect(await ledgerSpend(id, day)).toBeCloseTo(3 * RESERVE, 12);
    expect((await live.spent(id, [day]))[day]).toBeCloseTo(3 * RESERVE, 12);
  });

  it('a live replica renews its leases: a request longer than the lease is settled at its real cost, not swept', async () => {
    const { id, day, request } = await budgetKey();
    const slow = await c.extraBackend(600);
    slow.backend.start();
    const result = await slow.backend.acquire(request());
    if (!result.ok) throw new Error(`refused: ${result.refusal.reason}`);
    // Three leases long, with the survivors sweeping meanwhile.
    await sleep(1800);
    expect(await c.replicas[0]!.backend.inflight(id)).toBe(1);
    expect(await ledgerSpend(id, day)).toBe(0);
    await slow.backend.settle(result.ticket, { costUsd: 0.0004, tokensUsed: 0 }, c.h.clock.now());
    await slow.backend.flush();
    slow.backend.stop();
    expect(await ledgerSpend(id, day)).toBeCloseTo(0.0004, 12);
    expect(await c.replicas[2]!.backend.budgetRemaining(id, [{ periodKey: day, limitUsd: BUDGET }])).toBeCloseTo(BUDGET - 0.0004, 12);
    expect(await c.replicas[2]!.backend.inflight(id)).toBe(0);
  });
});

describe('a dead replica whose tickets reserved against a project and a parent key too', () => {
  it('charges each owner (key, project, parent) in full exactly once, and a late settlement charges none again', async () => {
    const { id, day } = await budgetKey();
    const parent = await c.h.createKey({ limits: { budgets: [{ usd: BUDGET, period: 'day' }] } });
    // Project ids are only counter owners here: the backend needs no project row to keep their counters.
    const projectId = `prj_dead${Date.now()}`;
    const request = (): AcquireRequest => ({
      keyId: id,
      now: c.h.clock.now(),
      rates: [],
      tokens: [],
      concurrency: 10,
      projectConcurrency: { projectId, limit: 10 },
      budgets: [
        { periodKey: day, limitUsd: BUDGET },
        { periodKey: day, limitUsd: BUDGET, scope: 'project', scopeId: projectId },
        { periodKey: day, limitUsd: BUDGET, subject: parent.id },
      ],
      reserveUsd: RESERVE,
    });
    const live = c.replicas[0]!.backend;
    const dead = await c.extraBackend(600);
    const tickets: Ticket[] = [];
    for (let i = 0; i < 2; i++) {
      const result = await dead.backend.acquire(request());
      if (!result.ok) throw new Error(`refused: ${result.refusal.reason}`);
      tickets.push(result.ticket);
    }
    dead.redis.disconnect();
    expect(await live.inflight(projectId)).toBe(2);
    for (const owner of [id, projectId, parent.id]) expect((await live.spent(owner, [day]))[day]).toBe(0);

    await until(async () => (await live.inflight(id)) === 0 && (await live.inflight(projectId)) === 0 && (await live.spent(parent.id, [day]))[day]! > 0, 5000);
    for (let round = 0; round < 3; round++) await Promise.all(c.replicas.map((r) => r.backend.beat()));
    for (const owner of [id, projectId, parent.id]) {
      expect((await live.spent(owner, [day]))[day], owner).toBeCloseTo(2 * RESERVE, 12);
      expect(await ledgerSpend(owner, day), owner).toBeCloseTo(2 * RESERVE, 12);
    }

    const revived = await c.extraBackend(600);
    await revived.backend.settle(tickets[0]!, { costUsd: 0.0002, tokensUsed: 0 }, c.h.clock.now());
    await revived.backend.flush();
    for (const owner of [id, projectId, parent.id]) expect(await ledgerSpend(owner, day), owner).toBeCloseTo(2 * RESERVE, 12);
  });

  it('refuses on the project budget with scope project, and settles each owner at the real cost', async () => {
    const { id, day } = await budgetKey();
    const projectId = `prj_live${Date.now()}`;
    const limitUsd = 0.0025;
    const request = (keyId: string): AcquireRequest => ({
      keyId,
      now: c.h.clock.now(),
      rates: [],
      tokens: [],
      concurrency: null,
      budgets: [{ periodKey: day, limitUsd, scope: 'project', scopeId: projectId }],
      reserveUsd: RESERVE,
    });
    const other = await c.h.createKey({});
    const a = c.replicas[1]!.backend;
    const b = c.replicas[2]!.backend;
    const first = await a.acquire(request(id));
    const second = await b.acquire(request(other.id));
    if (!first.ok || !second.ok) throw new Error('refused too early');
    const third = await a.acquire(request(other.id));
    expect(third.ok).toBe(false);
    if (!third.ok) expect(third.refusal).toMatchObject({ reason: 'budget', periodKey: day, scope: 'project' });
    await a.settle(first.ticket, { costUsd: 0.0003, tokensUsed: 0 }, c.h.clock.now());
    await b.settle(second.ticket, { costUsd: 0.0004, tokensUsed: 0 }, c.h.clock.now());
    await a.flush();
    await b.flush();
    expect(await ledgerSpend(projectId, day)).toBeCloseTo(0.0007, 12);
    // The keys' own ledgers are untouched: the budget was the project's alone.
    expect(await ledgerSpend(other.id, day)).toBe(0);
    expect(await a.budgetRemaining(id, [{ periodKey: day, limitUsd, scope: 'project', scopeId: projectId }])).toBeCloseTo(limitUsd - 0.0007, 12);
  });
});
