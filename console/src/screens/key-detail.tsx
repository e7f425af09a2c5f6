// One key: usage chart, spend against each budget, recent requests (metadata only), scopes and limits (editable),
// and rotate / suspend / unsuspend / revoke, each confirmed by a dialog that names the key.
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { api, ApiError, errorMessage } from '../api';
import { Chart } from '../components/chart';
import { ConfirmDialog } from '../components/confirm';
import { useLoad } from '../components/use-load';
import { EmptyState, ErrorBanner, Link, Loading, PageTitle, StatusBadge } from '../components/ui';
import { count, percent, usd, when } from '../format';
import type { List, UsageRecord, UsageRow, VirtualKey } from '../types';
import { KeyFields } from './key-fields';
import { formFromKey, keyBody, type KeyFormValues } from './key-form';
import { modelRulesText } from './key-rules';
import { SecretOnce } from './keys';

interface KeyWithBudgets extends VirtualKey {
  budgets: { period: string; limit_usd: number; spent_usd: number }[];
}
interface DayPoint {
  t: number;
  requests: number;
  errors: number;
  cost_usd: number;
}
interface KeyStats {
  series: { daily: DayPoint[] };
  recent: UsageRecord[];
}

const DAY_MS = 86_400_000;

/** GET /keys/:id/stats (h-cdata); on a server without it, the same from /usage and /usage/records. */
async function loadStats(id: string): Promise<KeyStats> {
  try {
    const stats = await api<{ series: { daily: DayPoint[] }; recent: Record<string, unknown>[] }>(`/keys/${encodeURIComponent(id)}/stats?days=30`);
    return { series: stats.series, recent: stats.recent.map(normalizeRecord) };
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404 || err.message.toLowerCase().includes('key')) throw err;
  }
  const since = new Date(Date.now() - 30 * DAY_MS).toISOString();
  const [days, records] = await Promise.all([
    api<List<UsageRow>>(`/usage?group_by=day&key_id=${encodeURIComponent(id)}&since=${encodeURIComponent(since)}`),
    api<List<UsageRecord>>(`/usage/records?key_id=${encodeURIComponent(id)}&since=${encodeURIComponent(since)}&limit=1000`),
  ]);
  return {
    series: { daily: days.data.map((d) => ({ t: Date.parse(`${d.day ?? ''}T00:00:00Z`), requests: d.requests, errors: d.errors, cost_usd: d.costUsd })) },
    recent: records.data.slice(-50).reverse(),
  };
}

/** Accepts both camelCase records and snake_case stats rows. */
function normalizeRecord(r: Record<string, unknown>, index: number): UsageRecord {
  const num = (a: string, b: string): number => Number(r[a] ?? r[b] ?? 0);
  const text = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');
  const cost = r.costUsd ?? r.cost_usd ?? null;
  return {
    id: text(r.id) || `row-${index}`,
    ts: typeof r.ts === 'number' ? r.ts : typeof r.time === 'number' ? r.time : Date.parse(text(r.time)),
    endpoint: text(r.endpoint),
    model: (r.model as string | null) ?? null,
    status: Number(r.status ?? 0),
    promptTokens: num('promptTokens', 'prompt_tokens'),
    completionTokens: num('completionTokens', 'completion_tokens'),
    costUsd: cost === null ? null : Number(cost),
    latencyMs: num('latencyMs', 'latency_ms'),
  };
}

type Action = 'rotate' | 'suspend' | 'unsuspend' | 'revoke';

export function KeyDetail(props: { id: string; canWrite: boolean }): JSX.Element {
  const key = useLoad(() => api<KeyWithBudgets>(`/keys/${encodeURIComponent(props.id)}`), [props.id]);
  const stats = useLoad(() => loadStats(props.id), [props.id]);
  const [action, setAction] = useState<Action | null>(null);
  const [editing, setEditing] = useState<KeyFormValues | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rotated, setRotated] = useState<VirtualKey | null>(null);
  const chart = useMemo(() => {
    const daily = stats.data?.series.daily ?? [];
    return { times: daily.map((d) => d.t), series: [{ label: 'Spend (USD)', values: daily.map((d) => d.cost_usd), format: (v: number) => usd(v) }] };
  }, [stats.data]);

  if (key.error) return <ErrorBanner error={key.error} />;
  if (!key.data) return <Loading />;
  const k = key.data;
  const act = async (which: Action): Promise<void> => {
    const path = `/keys/${encodeURIComponent(k.id)}/${which}`;
    const result = await api<VirtualKey>(path, { method: 'POST', body: which === 'rotate' ? { grace: '1h' } : which === 'suspend' ? { reason: 'suspended from the console' } : {} });
    if (which === 'rotate') setRotated(result);
    key.reload();
  };
  const save = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (!editing) return;
    try {
      const body = keyBody(editing, k.limits, true);
      delete body.upstream;
      await api(`/keys/${encodeURIComponent(k.id)}`, { method: 'PATCH', body });
      setEditing(null);
      key.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const live = k.status === 'active' || k.status === 'suspended';
  const confirmText: Record<Action, [string, string, string]> = {
    rotate: [`Rotate key ${k.name}?`, `A new secret is issued for ${k.name}; the old one keeps working for 1 hour.`, `Rotate ${k.name}`],
    suspend: [`Suspend key ${k.name}?`, `Requests with ${k.name} (${k.display}) are refused until it is unsuspended.`, `Suspend ${k.name}`],
    unsuspend: [`Unsuspend key ${k.name}?`, `${k.name} (${k.display}) works again.`, `Unsuspend ${k.name}`],
    revoke: [`Revoke key ${k.name}?`, `${k.name} (${k.display}) stops working at once. This cannot be undone.`, `Revoke ${k.name}`],
  };
  return (
    <>
      <p>
        <Link href="/keys">← Keys</Link>
      </p>
      <PageTitle
        actions={
          props.canWrite && live ? (
            <>
              <button type="button" onClick={() => setEditing(formFromKey(k))}>
                Edit
              </button>
              <button type="button" onClick={() => setAction('rotate')}>
                Rotate
              </button>
              {k.status === 'suspended' ? (
                <button type="button" onClick={() => setAction('unsuspend')}>
                  Unsuspend
                </button>
              ) : (
                <button type="button" onClick={() => setAction('suspend')}>
                  Suspend
                </button>
              )}
              <button type="button" class="danger" onClick={() => setAction('revoke')}>
                Revoke
              </button>
            </>
          ) : null
        }
      >
        {k.name} <StatusBadge status={k.status} />
      </PageTitle>
      <p class="muted">
        <code>{k.display}</code> · {k.id} · created {when(k.created_at)}
        {k.expires_at ? ` · expires ${when(k.expires_at)}` : ''}
      </p>
      <ErrorBanner error={error} />
      {rotated?.key ? <SecretOnce secret={rotated.key} keyId={k.id} title={`New secret for ${k.name}`} /> : null}
      {action ? (
        <ConfirmDialog
          title={confirmText[action][0]}
          body={confirmText[action][1]}
          confirmLabel={confirmText[action][2]}
          danger={action === 'revoke' || action === 'suspend'}
          onConfirm={() => act(action)}
          onClose={() => setAction(null)}
        />
      ) : null}
      {editing ? (
        <form class="form" onSubmit={(e) => void save(e)} aria-label={`Edit ${k.name}`}>
          <KeyFields values={editing} set={(patch) => setEditing({ ...editing, ...patch })} />
          <div class="actions">
            <button type="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
            <button type="submit" class="primary">
              Save
            </button>
          </div>
        </form>
      ) : null}
      <section aria-labelledby="budgets-title">
        <h2 id="budgets-title">Budgets</h2>
        {k.budgets.length === 0 ? (
          <p class="muted">No budget. Set a daily or monthly budget in USD with Edit so a leaked key cannot run up a bill.</p>
        ) : (
          <ul class="plain">
            {k.budgets.map((b) => (
              <li key={b.period}>
                <strong>{b.period}</strong>: {usd(b.spent_usd)} of {usd(b.limit_usd)} ({percent(b.limit_usd > 0 ? b.spent_usd / b.limit_usd : 0)})
                <progress max={b.limit_usd} value={Math.min(b.spent_usd, b.limit_usd)} aria-label={`${b.period} budget used`} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="usage-title">
        <h2 id="usage-title">Usage, last 30 days</h2>
        <ErrorBanner error={stats.error} />
        {stats.data && stats.data.series.daily.length > 0 ? <Chart title="Spend per day (USD)" times={chart.times} series={chart.series} /> : null}
        {stats.data && stats.data.recent.length === 0 ? (
          <EmptyState title="No requests yet">
            Point an OpenAI SDK at this gateway's <code>/v1</code> with this key; requests show here.
          </EmptyState>
        ) : null}
        {stats.data && stats.data.recent.length > 0 ? (
          <div class="table-wrap">
            <table data-testid="recent-requests">
              <caption>Recent requests (metadata only)</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Model</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Tokens
                  </th>
                  <th scope="col" class="num">
                    Cost (USD)
                  </th>
                  <th scope="col" class="num">
                    Latency
                  </th>
                </tr>
              </thead>
              <tbody>
                {stats.data.recent.map((r) => (
                  <tr key={r.id}>
                    <td>{when(r.ts)}</td>
                    <td>{r.endpoint}</td>
                    <td>{r.model ?? '—'}</td>
                    <td>{r.status}</td>
                    <td class="num">{count(r.promptTokens + r.completionTokens)}</td>
                    <td class="num" data-testid="request-cost">
                      {usd(r.costUsd)}
                    </td>
                    <td class="num">{count(Math.round(r.latencyMs))} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      <section aria-labelledby="scopes-title">
        <h2 id="scopes-title">Scopes and limits</h2>
        <dl class="facts">
          <dt>Models</dt>
          <dd>{k.models.length > 0 ? k.models.join(', ') : 'all'}</dd>
          <dt>Endpoint groups</dt>
          <dd>{k.endpoints.length > 0 ? k.endpoints.join(', ') : 'all'}</dd>
          <dt>IP ranges</dt>
          <dd>{k.ip_allowlist.length > 0 ? k.ip_allowlist.join(', ') : 'any'}</dd>
          <dt>Requests per minute</dt>
          <dd>{k.limits.rpm ?? 'no limit'}</dd>
          <dt>Tokens per minute</dt>
          <dd>{k.limits.tpm ?? 'no limit'}</dd>
          <dt>Concurrency</dt>
          <dd>{k.limits.concurrency ?? 'no limit'}</dd>
          <dt>Model rules</dt>
          <dd data-testid="key-model-rules">{k.limits.model_rules?.length ? <pre class="plain">{modelRulesText(k.limits.model_rules)}</pre> : 'none'}</dd>
          <dt>Metadata</dt>
          <dd data-testid="key-metadata">
            {Object.keys(k.metadata).length > 0
              ? Object.entries(k.metadata).map(([name, value]) => (
                  <span key={name} class="badge">
                    {name}={value}
                  </span>
                ))
              : 'none'}
          </dd>
        </dl>
      </section>
    </>
  );
}
