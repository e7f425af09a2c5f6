// Audit log: the hash-chained entries with filters, "verify chain", and an export as JSON lines.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, apiText, errorMessage } from '../api';
import { useLoad } from '../components/use-load';
import { EmptyState, ErrorBanner, Field, Loading, PageTitle } from '../components/ui';
import { download, when } from '../format';
import type { AuditLine } from '../types';

interface Verification {
  ok: boolean;
  count?: number;
  entries?: number;
  [field: string]: unknown;
}

/** The newest 2,000 entries (the API pages in storage order; the last page is read by following cursors). */
async function loadRecent(): Promise<AuditLine[]> {
  const head = await api<{ seq: number }>('/audit/head');
  const cursor = Math.max(0, head.seq - 2_000);
  const page = await api<{ data: AuditLine[] }>(`/audit?cursor=${cursor}&limit=2000`);
  return page.data.reverse();
}

export function Audit(): JSX.Element {
  const entries = useLoad(loadRecent, []);
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [target, setTarget] = useState('');
  const [since, setSince] = useState('');
  const [verification, setVerification] = useState<Verification | null>(null);
  const [error, setError] = useState<string | null>(null);
  const sinceMs = since ? Date.parse(since) : NaN;
  const shown = (entries.data ?? []).filter(
    (e) =>
      (!actor || e.actor.includes(actor)) && (!action || e.action.includes(action)) && (!target || e.target.includes(target)) && (Number.isNaN(sinceMs) || e.ts >= sinceMs),
  );
  const verify = async (): Promise<void> => {
    setError(null);
    try {
      setVerification(await api<Verification>('/audit/verify'));
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const exportAll = async (): Promise<void> => {
    try {
      download('keywarden-audit.jsonl', await apiText('/audit/export'), 'application/x-ndjson');
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <>
      <PageTitle
        actions={
          <>
            <button type="button" onClick={() => void verify()}>
              Verify chain
            </button>
            <button type="button" onClick={() => void exportAll()}>
              Export JSON lines
            </button>
          </>
        }
      >
        Audit log
      </PageTitle>
      {verification ? (
        <p class={verification.ok ? 'notice ok' : 'error'} role="status" data-testid="verify-result">
          {verification.ok ? 'Chain verified: every entry is intact and in order.' : `Chain verification FAILED: ${JSON.stringify(verification)}`}
        </p>
      ) : null}
      <ErrorBanner error={entries.error ?? error} />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Actor" id="audit-actor">
          <input id="audit-actor" placeholder="user:… or admin:…" value={actor} onInput={(e) => setActor(e.currentTarget.value)} />
        </Field>
        <Field label="Action" id="audit-action">
          <input id="audit-action" placeholder="key.revoked" value={action} onInput={(e) => setAction(e.currentTarget.value)} />
        </Field>
        <Field label="Target" id="audit-target">
          <input id="audit-target" value={target} onInput={(e) => setTarget(e.currentTarget.value)} />
        </Field>
        <Field label="Since" id="audit-since">
          <input id="audit-since" type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </Field>
      </form>
      {entries.loading && !entries.data ? <Loading /> : null}
      {entries.data && entries.data.length === 0 ? <EmptyState title="No entries yet">Every admin action and security event is recorded here.</EmptyState> : null}
      {shown.length > 0 ? (
        <div class="table-wrap">
          <table data-testid="audit-table">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.seq}>
                  <td>{e.seq}</td>
                  <td>{when(e.ts)}</td>
                  <td>{e.actor}</td>
                  <td>{e.action}</td>
                  <td>{e.target}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
