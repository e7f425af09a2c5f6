// Usage explorer: group by key, project, model, upstream and day over a date range, with a chart and CSV.
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { api, apiText, errorMessage } from '../api';
import { Chart } from '../components/chart';
import { useLoad } from '../components/use-load';
import { EmptyState, ErrorBanner, Field, Loading, PageTitle } from '../components/ui';
import { count, download, usd } from '../format';
import type { List, UsageRow } from '../types';

const GROUPS = ['key', 'project', 'model', 'upstream', 'day'] as const;
type Group = (typeof GROUPS)[number];

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function label(row: UsageRow, groups: Group[]): string {
  return groups
    .map((g) => {
      if (g === 'key') return row.keyName ?? row.keyId ?? '—';
      if (g === 'project') return row.projectName ?? row.projectId ?? 'no project';
      if (g === 'model') return row.model ?? 'unknown model';
      if (g === 'upstream') return row.upstreamName ?? row.upstreamId ?? '—';
      return row.day ?? '—';
    })
    .join(' · ');
}

export function Usage(): JSX.Element {
  const [groups, setGroups] = useState<Group[]>(['day']);
  const [from, setFrom] = useState(isoDay(Date.now() - 29 * 86_400_000));
  const [to, setTo] = useState(isoDay(Date.now()));
  const [error, setError] = useState<string | null>(null);
  const query = `group_by=${groups.join(',')}&since=${from}T00:00:00Z&until=${to}T23:59:59.999Z`;
  const rows = useLoad(() => api<List<UsageRow>>(`/usage?${query}`), [query]);
  const toggle = (g: Group): void => setGroups(groups.includes(g) ? groups.filter((x) => x !== g) : [...groups, g]);
  const byDay = useMemo(() => {
    if (!rows.data || !groups.includes('day')) return null;
    const totals = new Map<string, number>();
    for (const r of rows.data.data) totals.set(r.day ?? '', (totals.get(r.day ?? '') ?? 0) + r.costUsd);
    const days = [...totals.keys()].sort();
    return { times: days.map((d) => Date.parse(`${d}T00:00:00Z`)), series: [{ label: 'Spend (USD)', values: days.map((d) => totals.get(d) ?? 0), format: (v: number) => usd(v) }] };
  }, [rows.data]);
  const csv = async (): Promise<void> => {
    try {
      download(`keywarden-usage-${from}-${to}.csv`, await apiText(`/usage?${query}&format=csv`), 'text/csv');
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const total = (rows.data?.data ?? []).reduce((s, r) => s + r.costUsd, 0);
  return (
    <>
      <PageTitle
        actions={
          <button type="button" onClick={() => void csv()}>
            Download CSV
          </button>
        }
      >
        Usage
      </PageTitle>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <fieldset class="inline">
          <legend>Group by</legend>
          {GROUPS.map((g) => (
            <label key={g} class="check">
              <input type="checkbox" checked={groups.includes(g)} onChange={() => toggle(g)} /> {g}
            </label>
          ))}
        </fieldset>
        <Field label="From" id="usage-from">
          <input id="usage-from" type="date" value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        </Field>
        <Field label="To" id="usage-to">
          <input id="usage-to" type="date" value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        </Field>
      </form>
      <ErrorBanner error={rows.error ?? error} />
      {rows.loading && !rows.data ? <Loading /> : null}
      {byDay && byDay.times.length > 0 ? <Chart title="Spend per day (USD)" times={byDay.times} series={byDay.series} /> : null}
      {rows.data && rows.data.data.length === 0 ? <EmptyState title="No usage in this range">Widen the dates, or send a first request through the gateway.</EmptyState> : null}
      {rows.data && rows.data.data.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption>Total: {usd(total)}</caption>
            <thead>
              <tr>
                <th scope="col">{groups.join(' · ') || 'All'}</th>
                <th scope="col" class="num">
                  Requests
                </th>
                <th scope="col" class="num">
                  Errors
                </th>
                <th scope="col" class="num">
                  Tokens
                </th>
                <th scope="col" class="num">
                  Spend (USD)
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.data.data.map((r, i) => (
                <tr key={i}>
                  <td>{label(r, groups)}</td>
                  <td class="num">{count(r.requests)}</td>
                  <td class="num">{count(r.errors)}</td>
                  <td class="num">{count(r.promptTokens + r.completionTokens)}</td>
                  <td class="num">{usd(r.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
