// Users (owner only; every call needs a recent second factor, handled by the step-up dialog).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { useLoad } from '../components/use-load';
import { ErrorBanner, Field, Loading, PageTitle } from '../components/ui';
import { when } from '../format';
import type { Role } from '../session';

interface UserRow {
  id: string;
  name: string;
  role: Role;
  created_at?: number | string;
  mfa?: { totp: boolean; passkeys: number };
}

export function Users(props: { selfId: string }): JSX.Element {
  const users = useLoad(() => api<{ data: UserRow[] }>('/users'), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [link, setLink] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<UserRow | null>(null);
  const create = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(null);
    try {
      const created = await api<{ setup_url?: string; setup_link?: string }>('/users', { method: 'POST', body: { name, role } });
      setLink(created.setup_url ?? created.setup_link ?? null);
      setName('');
      users.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const changeRole = async (user: UserRow, next: Role): Promise<void> => {
    try {
      await api(`/users/${encodeURIComponent(user.id)}`, { method: 'PATCH', body: { role: next } });
      users.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <>
      <PageTitle>Users</PageTitle>
      <ErrorBanner error={users.error ?? error} />
      {users.loading && !users.data ? <Loading /> : null}
      {users.data ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Second factor</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.data.map((u) => (
                <tr key={u.id}>
                  <td>{u.name}</td>
                  <td>
                    <label class="sr-only" for={`role-${u.id}`}>
                      Role of {u.name}
                    </label>
                    <select id={`role-${u.id}`} value={u.role} disabled={u.id === props.selfId} onChange={(e) => void changeRole(u, e.currentTarget.value as Role)}>
                      <option value="owner">owner</option>
                      <option value="admin">admin</option>
                      <option value="viewer">viewer</option>
                    </select>
                  </td>
                  <td>{u.mfa ? [u.mfa.totp ? 'app' : null, u.mfa.passkeys > 0 ? `${u.mfa.passkeys} passkey(s)` : null].filter(Boolean).join(', ') || 'not enrolled' : '—'}</td>
                  <td>{when(u.created_at ?? null)}</td>
                  <td>
                    {u.id === props.selfId ? null : (
                      <button type="button" class="danger" onClick={() => setRemoving(u)}>
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={`Remove user ${removing.name}?`}
          body={`${removing.name} is signed out everywhere and can no longer sign in.`}
          confirmLabel={`Remove ${removing.name}`}
          danger
          onConfirm={async () => {
            await api(`/users/${encodeURIComponent(removing.id)}`, { method: 'DELETE' });
            users.reload();
          }}
          onClose={() => setRemoving(null)}
        />
      ) : null}
      <form class="form" onSubmit={(e) => void create(e)} aria-labelledby="add-user">
        <h2 id="add-user">Invite a user</h2>
        <Field label="User name" id="user-name">
          <input id="user-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Role" id="user-role">
          <select id="user-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            <option value="viewer">viewer: reads everything, changes nothing</option>
            <option value="admin">admin: keys and alerts</option>
            <option value="owner">owner: everything, users and upstreams</option>
          </select>
        </Field>
        <button type="submit" class="primary">
          Create setup link
        </button>
        {link ? (
          <p class="notice" role="status">
            Send this one-time link to the new user (it expires soon): <code>{link}</code>
          </p>
        ) : null}
      </form>
    </>
  );
}
