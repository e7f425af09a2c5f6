// Keys: the list with search and filters, the create form, and the one-time secret.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../api';
import { allKeys } from '../all-keys';
import { useLoad } from '../components/use-load';
import { EmptyState, ErrorBanner, Field, Link, Loading, PageTitle, StatusBadge } from '../components/ui';
import { when } from '../format';
import { navigate } from '../router';
import type { List, Upstream, VirtualKey } from '../types';
import { KeyFields } from './key-fields';
import { EMPTY_KEY_FORM, keyBody, type KeyFormValues } from './key-form';

function matches(key: VirtualKey, query: string, status: string, upstream: string, tag: string): boolean {
  if (status && key.status !== status) return false;
  if (upstream && key.upstream_id !== upstream) return false;
  if (tag && !Object.entries(key.metadata).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(tag.toLowerCase()))) return false;
  const q = query.trim().toLowerCase();
  return q === '' || key.name.toLowerCase().includes(q) || key.id.toLowerCase().includes(q) || key.display.toLowerCase().includes(q);
}

export function KeysList(props: { canWrite: boolean }): JSX.Element {
  const keys = useLoad(() => allKeys(), []);
  const upstreams = useLoad(() => api<List<Upstream>>('/upstreams'), []);
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState('');
  const [upstream, setUpstream] = useState('');
  const [tag, setTag] = useState('');
  const shown = (keys.data?.data ?? []).filter((k) => matches(k, query, status, upstream, tag));
  const upstreamName = (id: string | null): string => upstreams.data?.data.find((u) => u.id === id)?.name ?? (id === null ? 'default' : id);
  return (
    <>
      <PageTitle
        actions={
          props.canWrite ? (
            <Link href="/keys/new" class="button primary">
              Create key
            </Link>
          ) : null
        }
      >
        Keys
      </PageTitle>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field label="Search" id="keys-search">
          <input id="keys-search" type="search" placeholder="Name, id or last 4" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </Field>
        <Field label="Status" id="keys-status">
          <select id="keys-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">Any</option>
            <option value="active">Active</option>
            <option value="suspended">Suspended</option>
            <option value="revoked">Revoked</option>
            <option value="expired">Expired</option>
          </select>
        </Field>
        <Field label="Upstream" id="keys-upstream">
          <select id="keys-upstream" value={upstream} onChange={(e) => setUpstream(e.currentTarget.value)}>
            <option value="">Any</option>
            {(upstreams.data?.data ?? []).map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Tag" id="keys-tag">
          <input id="keys-tag" placeholder="team=search" value={tag} onInput={(e) => setTag(e.currentTarget.value)} />
        </Field>
      </form>
      <ErrorBanner error={keys.error} />
      {keys.loading && !keys.data ? <Loading /> : null}
      {keys.data && keys.data.data.length === 0 ? (
        <EmptyState title="No keys yet">
          {props.canWrite ? 'Create a virtual key for each app or person; the real provider key never leaves the gateway.' : 'An admin has not created any key yet.'}
        </EmptyState>
      ) : null}
      {keys.data && keys.data.data.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Status</th>
                <th scope="col">Upstream</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((k) => (
                <tr key={k.id}>
                  <td>
                    <Link href={`/keys/${k.id}`}>{k.name}</Link>
                  </td>
                  <td>
                    <code>{k.display}</code>
                  </td>
                  <td>
                    <StatusBadge status={k.status} />
                  </td>
                  <td>{upstreamName(k.upstream_id)}</td>
                  <td>{when(k.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {shown.length === 0 ? <p class="muted">No key matches these filters.</p> : null}
        </div>
      ) : null}
    </>
  );
}

/** The secret is shown once: it lives in this component's state only, and leaving the page drops it. */
export function SecretOnce(props: { secret: string; keyId: string; title: string }): JSX.Element {
  const [copied, setCopied] = useState(false);
  const copy = async (): Promise<void> => {
    await navigator.clipboard.writeText(props.secret);
    setCopied(true);
  };
  return (
    <section class="secret-once" aria-labelledby="secret-title">
      <h2 id="secret-title">{props.title}</h2>
      <p>Copy it now. It is shown only once and cannot be recovered; a lost key can be rotated.</p>
      <div class="secret-row">
        <code data-testid="new-key-secret">{props.secret}</code>
        <button type="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <Link href={`/keys/${props.keyId}`} class="button primary">
        Done, go to the key
      </Link>
    </section>
  );
}

export function KeyCreate(): JSX.Element {
  const upstreams = useLoad(() => api<List<Upstream>>('/upstreams'), []);
  const [values, setValues] = useState<KeyFormValues>(EMPTY_KEY_FORM);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<VirtualKey | null>(null);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(null);
    try {
      const key = await api<VirtualKey>('/keys', { method: 'POST', body: keyBody(values) });
      setCreated(key);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  if (created?.key) {
    return (
      <>
        <PageTitle>Key created</PageTitle>
        <SecretOnce secret={created.key} keyId={created.id} title={`Secret for ${created.name}`} />
      </>
    );
  }
  return (
    <>
      <PageTitle>Create key</PageTitle>
      <form class="form" onSubmit={(e) => void submit(e)}>
        <KeyFields values={values} set={(patch) => setValues({ ...values, ...patch })} upstreams={upstreams.data?.data ?? []} />
        <ErrorBanner error={error} />
        <div class="actions">
          <button type="button" onClick={() => navigate('/keys')}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Create key
          </button>
        </div>
      </form>
    </>
  );
}
