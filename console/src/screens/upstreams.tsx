// Upstreams: add (the provider key goes into a password field and is never shown again), list, remove.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { useLoad } from '../components/use-load';
import { EmptyState, ErrorBanner, Field, Loading, PageTitle } from '../components/ui';
import { when } from '../format';
import type { List, Upstream } from '../types';

export function Upstreams(props: { canWrite: boolean }): JSX.Element {
  const list = useLoad(() => api<List<Upstream>>('/upstreams'), []);
  const [name, setName] = useState('');
  const [provider, setProvider] = useState('openai');
  const [baseUrl, setBaseUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<Upstream | null>(null);
  const add = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(null);
    try {
      await api('/upstreams', { method: 'POST', body: { name, provider, keys: [secret], ...(baseUrl ? { base_url: baseUrl } : {}) } });
      setName('');
      setBaseUrl('');
      list.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      // The provider key leaves the page either way: it is never kept for a retry.
      setSecret('');
    }
  };
  return (
    <>
      <PageTitle>Upstreams</PageTitle>
      <ErrorBanner error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && list.data.data.length === 0 ? (
        <EmptyState title="No upstream yet">Add your provider (for example OpenAI) with its API key. The key is sealed in the vault and never shown again.</EmptyState>
      ) : null}
      {list.data && list.data.data.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Provider</th>
                <th scope="col">Base URL</th>
                <th scope="col">Keys</th>
                <th scope="col">Added</th>
                {props.canWrite ? (
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {list.data.data.map((u) => (
                <tr key={u.id}>
                  <td>
                    {u.name} {u.default ? <span class="badge">default</span> : null}
                  </td>
                  <td>{u.provider}</td>
                  <td>
                    <code>{u.base_url}</code>
                  </td>
                  <td>{u.keys.map((k) => k.display).join(', ')}</td>
                  <td>{when(u.created_at)}</td>
                  {props.canWrite ? (
                    <td>
                      <button type="button" class="danger" onClick={() => setRemoving(u)}>
                        Remove
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={`Remove upstream ${removing.name}?`}
          body={`Keys bound to ${removing.name} stop working until they are moved to another upstream.`}
          confirmLabel={`Remove ${removing.name}`}
          danger
          onConfirm={async () => {
            await api(`/upstreams/${encodeURIComponent(removing.id)}`, { method: 'DELETE' });
            list.reload();
          }}
          onClose={() => setRemoving(null)}
        />
      ) : null}
      {props.canWrite ? (
        <form class="form" onSubmit={(e) => void add(e)} aria-labelledby="add-upstream">
          <h2 id="add-upstream">Add an upstream</h2>
          <Field label="Name" id="up-name">
            <input id="up-name" required pattern="[\w.\-]+" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field label="Provider" id="up-provider">
            <select id="up-provider" value={provider} onChange={(e) => setProvider(e.currentTarget.value)}>
              <option value="openai">OpenAI</option>
              <option value="azure">Azure OpenAI</option>
              <option value="openai-compatible">OpenAI-compatible</option>
            </select>
          </Field>
          <Field label="Base URL" id="up-url" hint="Leave empty for the provider's default.">
            <input id="up-url" type="url" aria-describedby="up-url-hint" value={baseUrl} onInput={(e) => setBaseUrl(e.currentTarget.value)} />
          </Field>
          <Field label="Provider API key" id="up-key" hint="Stored encrypted; afterwards only its last 4 characters are shown.">
            <input id="up-key" type="password" autocomplete="off" required minLength={8} aria-describedby="up-key-hint" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
          </Field>
          <ErrorBanner error={error} />
          <button type="submit" class="primary">
            Add upstream
          </button>
        </form>
      ) : null}
    </>
  );
}
