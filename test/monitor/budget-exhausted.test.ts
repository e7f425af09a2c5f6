import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodKey } from '../../src/limits/periods.js';
import { ManualClock } from '../../src/monitor/clock.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

const MINUTE = 60_000;
/** 23:30 in Tokyo (UTC+9, no DST): the Tokyo day ends at 15:00Z, the UTC day nine hours later. */
const START = Date.parse('2026-11-29T14:30:00Z');
const TOKYO_MIDNIGHT = Date.parse('2026-11-29T15:00:00Z');
const TZ = 'Asia/Tokyo';

interface AlertView {
  detector: string;
  severity: string;
  subject: string;
  key_id: string | null;
  key_name: string | null;
  title: string;
  message: string;
  details: Record<string, unknown>;
}

let h: Harness;
let clock: ManualClock;

beforeAll(async () => {
  clock = new ManualClock(START);
  // No alert sink configured: alerts must still reach someone, through the log.
  h = await startHarness({ manualClock: clock });
});
afterAll(() => h.close());

/** Puts settled spend on the durable ledger before the key's first request (the limiter loads it from there). */
async function seedSpend(keyId: string, usd: number): Promise<void> {
  const store = h.server.services.store;
  await store.spend.settle({ reservationId: null, keyId, periodKeys: [periodKey('day', clock.now(), TZ)], usd });
  await store.flushSpend();
}

async function budgetAlerts(keyId: string): Promise<AlertView[]> {
  const res = await h.admin<{ data: AlertView[] }>('GET', `/alerts?detector=budget_threshold&key_id=${keyId}`);
  expect(res.status).toBe(200);
  return res.body.data;
}

/** Flushes usage to the monitor and lets one evaluation run. */
async function evaluate(): Promise<void> {
  await h.server.gateway.usage.flush();
  await clock.advance(MINUTE);
}

/** A request whose worst-case cost (1000 output tokens of gpt-4o-mini, $0.0006) does not fit in what is left. */
const bigChat = (client: OpenAI): Promise<unknown> =>
  client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] });

describe('budget exhausted: raised by the refusals, with readable amounts', () => {
  it('a key refusing every request at 85 % settled spend raises "exhausted" (100 %), not only the 80 % warning', async () => {
    const { id, key } = await h.createKey({ name: 'budget-app', limits: { budgets: [{ usd: 0.001, period: 'day' }], time_zone: TZ } });
    await seedSpend(id, 0.00085);
    const client = h.client(key);
    for (let i = 0; i < 3; i++) {
      const err = await apiErrorOf(bigChat(client));
      expect(err.status).toBe(429);
      expect(err.code).toBe('budget_exceeded');
    }
    await evaluate();

    const alerts = await budgetAlerts(id);
    expect(alerts).toHaveLength(1);
    const [alert] = alerts as [AlertView];
    expect(alert.severity).toBe('critical');
    expect(alert.subject).toBe(`${id}:${periodKey('day', START, TZ)}:100`);
    expect(alert.title).toBe(`Key budget-app (${id}) exhausted its budget`);
    expect(alert.message).toContain('$0.00085 of its $0.001 budget');
    expect(alert.message).not.toContain('$0.00 ');
    expect(alert.key_name).toBe('budget-app');
    // Alerts can be filtered by key name as well as id.
    const byName = await h.admin<{ data: AlertView[] }>('GET', '/alerts?detector=budget_threshold&key_id=budget-app');
    expect(byName.body.data.map((a) => a.subject)).toEqual([alert.subject]);
    expect(alert.details).toMatchObject({ threshold_pct: 100, refusing: true, budget_usd: 0.001 });

    // No sink is configured, so it is in the log: one warn line, naming the key, with no key material.
    const lines = h.logs().split('\n').filter((line) => line.includes('exhausted its budget'));
    expect(lines).toHaveLength(1);
    const logged = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(logged).toMatchObject({ level: 'warn', detector: 'budget_threshold', severity: 'critical', keyId: id });
    expect(lines[0]).not.toContain(key);

    // More refusals in the same period fold into the same alert instead of raising new ones.
    await apiErrorOf(bigChat(client));
    await evaluate();
    expect(await budgetAlerts(id)).toHaveLength(1);
    expect(h.logs().split('\n').filter((line) => line.includes('exhausted its budget'))).toHaveLength(1);
  });

  it('a key at 85 % that is not refusing raises only the 80 % warning', async () => {
    const { id } = await h.createKey({ name: 'near-limit', limits: { budgets: [{ usd: 0.001, period: 'day' }], time_zone: TZ } });
    await seedSpend(id, 0.00085);
    await evaluate();
    const alerts = await budgetAlerts(id);
    expect(alerts.map((a) => [a.severity, a.title])).toEqual([['warning', `Key near-limit (${id}) reached 80% of its budget`]]);
    expect(alerts[0]?.message).toContain('$0.00085 of its $0.001 budget');
  });

  it('budget 429s carry Retry-After: seconds to the period reset in the key time zone, across the day boundary', async () => {
    const { id, key } = await h.createKey({ name: 'tokyo', limits: { budgets: [{ usd: 0.001, period: 'day' }], time_zone: TZ } });
    await seedSpend(id, 0.0009);
    const client = h.client(key);

    const first = await apiErrorOf(bigChat(client));
    expect(first.status).toBe(429);
    const expected = Math.ceil((TOKYO_MIDNIGHT - clock.now()) / 1000);
    expect(expected).toBeGreaterThan(60);
    expect(expected).toBeLessThan(1800);
    expect(first.headers?.get('retry-after')).toBe(String(expected));
    expect(first.headers?.get('x-should-retry')).toBe('false');
    // Not the UTC day's end, which is nine hours further.
    expect(Number(first.headers?.get('retry-after'))).toBeLessThan(9 * 3600);

    clock.set(TOKYO_MIDNIGHT - 500);
    const last = await apiErrorOf(bigChat(client));
    expect(last.headers?.get('retry-after')).toBe('1');

    // Past Tokyo midnight the day budget is fresh: the same request is admitted.
    clock.set(TOKYO_MIDNIGHT);
    const ok = (await bigChat(client)) as { choices: unknown[] };
    expect(ok.choices.length).toBe(1);

    // Spent again in the new day: Retry-After now points a full Tokyo day ahead (to 2026-11-30T15:00Z).
    await seedSpend(id, 0.001);
    // The limiter holds the key's spend in memory once loaded; a restart reloads it from the ledger.
    await h.restart();
    const next = await apiErrorOf(bigChat(h.client(key)));
    expect(next.status).toBe(429);
    expect(next.headers?.get('retry-after')).toBe(String(Math.ceil((TOKYO_MIDNIGHT + 86_400_000 - clock.now()) / 1000)));
  });

  it('a lifetime budget, which never resets, sends no Retry-After (and the SDK is told not to retry)', async () => {
    const { key } = await h.createKey({ name: 'lifetime', limits: { budgets: [{ usd: 0.0001, period: 'lifetime' }] } });
    const err = await apiErrorOf(bigChat(h.client(key)));
    expect(err.status).toBe(429);
    expect(err.headers?.get('retry-after')).toBeNull();
    expect(err.headers?.get('x-should-retry')).toBe('false');
  });
});
