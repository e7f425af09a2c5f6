// Overview: spend today and month to date, requests and errors over time, top keys, open alerts, keys near a
// budget. Reads GET /admin/v1/stats/overview (h-cdata); on a server without it, the same numbers from /usage.
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import { api, ApiError } from '../api';
import { allKeys } from '../all-keys';
import { Chart } from '../components/chart';
import { useLoad } from '../components/use-load';
import { EmptyState, ErrorBanner, Link, Loading, PageTitle, Stat } from '../components/ui';
import { count, percent, usd, when } from '../format';
import type { Alert, List, UsageRow } from '../types';

interface SeriesPoint {
  t: number;
  requests: number;
  errors: number;
  cost_usd: number;
}
export interface OverviewData {
  spend: { today_usd: number; month_usd: number };
  series: { hourly: SeriesPoint[]; daily: SeriesPoint[] };
  top_keys: { id: string; name: string; cost_usd: number }[];
  open_alerts: { count: number; latest: Alert[] };
  near_budget: { id: string; name: string; window: string; spent_usd: number; limit_usd: number; fraction: number }[];
  totals: { keys_active: number; keys_suspended: number; upstreams: number };
}

const DAY_MS = 86_400_000;

async function fromUsage(): Promise<OverviewData> {
  const now = Date.now();
  const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
  const todayStart = now - (now % DAY_MS);
  const since = new Date(Math.min(monthStart, now - 30 * DAY_MS)).toISOString();
  const [days, byKey, keys, alerts, upstreams] = await Promise.all([
    api<List<UsageRow>>(`/usage?group_by=day&since=${encodeURIComponent(since)}`),
    api<List<UsageRow>>(`/usage?group_by=key&since=${encodeURIComponent(new Date(monthStart).toISOString())}`),
    allKeys(),
    api<List<Alert>>('/alerts?status=open&limit=5'),
    api<List<unknown>>('/upstreams'),
  ]);
  const daily = days.data.map((d) => ({ t: Date.parse(`${d.day ?? ''}T00:00:00Z`), requests: d.requests, errors: d.errors, cost_usd: d.costUsd }));
  return {
    spend: {
      today_usd: daily.filter((d) => d.t >= todayStart).reduce((s, d) => s + d.cost_usd, 0),
      month_usd: daily.filter((d) => d.t >= monthStart).reduce((s, d) => s + d.cost_usd, 0),
    },
    series: { hourly: [], daily },
    top_keys: byKey.data
      .map((r) => ({ id: r.keyId ?? '', name: r.keyName ?? r.keyId ?? '', cost_usd: r.costUsd }))
      .sort((a, b) => b.cost_usd - a.cost_usd)
      .slice(0, 10),
    open_alerts: { count: alerts.data.length, latest: alerts.data },
    near_budget: [],
    totals: {
      keys_active: keys.data.filter((k) => k.status === 'active').length,
      keys_suspended: keys.data.filter((k) => k.status === 'suspended').length,
      upstreams: upstreams.data.length,
    },
  };
}

export async function loadOverview(): Promise<OverviewData> {
  try {
    return await api<OverviewData>('/stats/overview');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return fromUsage();
    throw err;
  }
}

export function Overview(): JSX.Element {
  const { data, error, loading } = useLoad(loadOverview, []);
  const series = data ? (data.series.hourly.length > 0 ? data.series.hourly : data.series.daily) : [];
  const chart = useMemo(
    () => ({
      times: series.map((p) => p.t),
      series: [
        { label: 'Requests', values: series.map((p) => p.requests) },
        { label: 'Errors', values: series.map((p) => p.errors) },
      ],
    }),
    [data],
  );
  return (
    <>
      <PageTitle>Overview</PageTitle>
      <ErrorBanner error={error} />
      {loading && !data ? <Loading /> : null}
      {data ? (
        <div data-ready="overview">
          <section class="stats" aria-label="Spend and totals">
            <Stat label="Spend today" value={usd(data.spend.today_usd)} detail="UTC day" />
            <Stat label="Spend this month" value={usd(data.spend.month_usd)} detail="Month to date" />
            <Stat label="Active keys" value={count(data.totals.keys_active)} detail={`${count(data.totals.keys_suspended)} suspended`} />
            <Stat label="Open alerts" value={count(data.open_alerts.count)} />
          </section>
          {data.totals.upstreams === 0 ? (
            <EmptyState title="Connect a provider first">
              Add an upstream with your provider key on the <Link href="/upstreams">Upstreams</Link> page, then create a virtual key on the{' '}
              <Link href="/keys">Keys</Link> page.
            </EmptyState>
          ) : null}
          {series.length > 0 ? (
            <Chart title={data.series.hourly.length > 0 ? 'Requests and errors, last 48 hours' : 'Requests and errors by day'} times={chart.times} series={chart.series} />
          ) : (
            <EmptyState title="No traffic yet">Requests through the gateway appear here within a minute.</EmptyState>
          )}
          <div class="grid2">
            <section aria-labelledby="top-keys">
              <h2 id="top-keys">Top keys this month</h2>
              {data.top_keys.length === 0 ? (
                <p class="muted">No spend this month.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Key</th>
                      <th scope="col" class="num">
                        Spend (USD)
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.top_keys.map((k) => (
                      <tr key={k.id}>
                        <td>
                          <Link href={`/keys/${k.id}`}>{k.name}</Link>
                        </td>
                        <td class="num" data-testid="top-key-cost">
                          {usd(k.cost_usd)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section aria-labelledby="near-budget">
              <h2 id="near-budget">Keys close to a budget</h2>
              {data.near_budget.length === 0 ? (
                <p class="muted">No key is above 80 % of a budget.</p>
              ) : (
                <ul class="plain">
                  {data.near_budget.map((k) => (
                    <li key={`${k.id}-${k.window}`}>
                      <Link href={`/keys/${k.id}`}>{k.name}</Link>: {usd(k.spent_usd)} of {usd(k.limit_usd)} ({k.window}, {percent(k.fraction)})
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </div>
          <section aria-labelledby="open-alerts">
            <h2 id="open-alerts">Open alerts</h2>
            {data.open_alerts.latest.length === 0 ? (
              <p class="muted">No open alerts.</p>
            ) : (
              <ul class="plain">
                {data.open_alerts.latest.map((a) => (
                  <li key={a.id}>
                    <span class={`badge badge-${a.severity}`}>{a.severity}</span> {a.title} <span class="muted">{when(a.last_seen_at)}</span>
                  </li>
                ))}
              </ul>
            )}
            <Link href="/alerts">All alerts</Link>
          </section>
        </div>
      ) : null}
    </>
  );
}
