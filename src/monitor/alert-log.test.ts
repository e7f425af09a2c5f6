import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/monitor/helpers.js';
import { openDatabase } from '../store/sqlite/database.js';
import type { AlertView } from './alert-view.js';
import { ManualClock } from './clock.js';
import { parseMonitorConfig } from './config.js';
import { createSqliteMonitorRepos } from './create-monitor.js';
import { MonitorEngine } from './engine.js';
import type { BudgetStatus } from './types.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 29, 12, 0);
const engines: MonitorEngine[] = [];
afterEach(async () => {
  while (engines.length > 0) await engines.pop()?.stop();
});

/** An engine with one key at 90 % of a $0.01 budget; `withSink` adds an in-memory sink. */
function setup(withSink: boolean) {
  const clock = new ManualClock(T0);
  const { logger, text } = captureLogger();
  const sent: AlertView[] = [];
  const statuses: BudgetStatus[] = [{ keyId: 'key_a', keyName: 'app', spentUsd: 0.009, budgetUsd: 0.01, periodId: 'day:2026-11-29' }];
  const engine = new MonitorEngine({
    config: parseMonitorConfig({}),
    repos: createSqliteMonitorRepos(openDatabase(':memory:')),
    sinks: withSink ? [{ name: 'memory', send: (alert) => Promise.resolve(void sent.push(alert)) }] : [],
    logger,
    clock,
    sleep: () => Promise.resolve(),
    budgets: () => Promise.resolve(statuses),
  });
  engines.push(engine);
  return { clock, engine, text, sent };
}

const alertLines = (text: string): string[] => text.split('\n').filter((line) => line.includes('"msg":"alert: '));

describe('alerts without a sink', () => {
  it('are written to the log at warn level, one line each, once', async () => {
    const { clock, engine, text } = setup(false);
    await engine.start();
    await clock.advance(MINUTE);
    await clock.advance(MINUTE); // deduplicated: no second line
    const lines = alertLines(text());
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'warn',
      msg: 'alert: Key app (key_a) reached 80% of its budget',
      detector: 'budget_threshold',
      severity: 'warning',
      keyId: 'key_a',
      message: 'Key app (key_a) has spent $0.009 of its $0.01 budget for day:2026-11-29.',
    });
  });

  it('are not duplicated into the log when a sink delivers them', async () => {
    const { clock, engine, text, sent } = setup(true);
    await engine.start();
    await clock.advance(MINUTE);
    await engine.dispatcher.idle();
    expect(sent).toHaveLength(1);
    expect(alertLines(text())).toEqual([]);
  });
});
