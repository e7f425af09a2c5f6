// Security: canary keys (honeytokens) and leak reports, with where each was seen.
import type { JSX } from 'preact';
import { api } from '../api';
import { allKeys } from '../all-keys';
import { useLoad } from '../components/use-load';
import { EmptyState, ErrorBanner, Link, Loading, PageTitle, StatusBadge } from '../components/ui';
import { when } from '../format';
import type { Alert, List } from '../types';

interface AlertWithDetails extends Alert {
  details?: Record<string, string | number | boolean | null>;
}

export function Security(): JSX.Element {
  const keys = useLoad(() => allKeys(), []);
  const canaryAlerts = useLoad(() => api<List<AlertWithDetails>>('/alerts?detector=canary_key&status=all&limit=100'), []);
  const leakAudit = useLoad(async () => {
    const head = await api<{ seq: number }>('/audit/head');
    const page = await api<{ data: { seq: number; ts: number; actor: string; action: string; target: string; after: unknown }[] }>(`/audit?cursor=${Math.max(0, head.seq - 2_000)}&limit=2000`);
    return page.data.filter((e) => e.action.includes('leak')).reverse();
  }, []);
  const canaries = (keys.data?.data ?? []).filter((k) => k.canary);
  return (
    <>
      <PageTitle>Security</PageTitle>
      <section aria-labelledby="canary-title">
        <h2 id="canary-title">Canary keys</h2>
        <ErrorBanner error={keys.error} />
        {keys.loading && !keys.data ? <Loading /> : null}
        {keys.data && canaries.length === 0 ? (
          <EmptyState title="No canary keys">
            A canary key looks real but is never used: plant one in a repository or a CI secret, and any use raises a critical alert. Create one with
            <code> keywarden keys create --canary</code>.
          </EmptyState>
        ) : null}
        {canaries.length > 0 ? (
          <ul class="plain">
            {canaries.map((k) => (
              <li key={k.id}>
                <Link href={`/keys/${k.id}`}>{k.name}</Link> <code>{k.display}</code> <StatusBadge status={k.status} />
              </li>
            ))}
          </ul>
        ) : null}
        {(canaryAlerts.data?.data ?? []).length > 0 ? (
          <div class="table-wrap">
            <table>
              <caption>Canary use</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Key</th>
                  <th scope="col">Seen from</th>
                </tr>
              </thead>
              <tbody>
                {(canaryAlerts.data?.data ?? []).map((a) => (
                  <tr key={a.id}>
                    <td>{when(a.last_seen_at)}</td>
                    <td>{a.key_name ?? a.key_id}</td>
                    <td>{[a.details?.ip, a.details?.user_agent, a.details?.endpoint].filter((x) => x !== undefined && x !== null).join(' · ') || a.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      <section aria-labelledby="leaks-title">
        <h2 id="leaks-title">Leak reports</h2>
        <ErrorBanner error={leakAudit.error} />
        {leakAudit.data && leakAudit.data.length === 0 ? (
          <p class="muted">No leak reported. `keywarden scan` and GitHub secret scanning report leaked keys here.</p>
        ) : null}
        {leakAudit.data && leakAudit.data.length > 0 ? (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Event</th>
                  <th scope="col">Key</th>
                  <th scope="col">Where</th>
                </tr>
              </thead>
              <tbody>
                {leakAudit.data.map((e) => (
                  <tr key={e.seq}>
                    <td>{when(e.ts)}</td>
                    <td>{e.action}</td>
                    <td>{e.target}</td>
                    <td>{typeof e.after === 'object' && e.after !== null && 'source' in e.after ? String(e.after.source) : e.actor}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
    </>
  );
}
