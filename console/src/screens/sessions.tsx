// Your sessions: where you are signed in, revoke one, sign out everywhere; and your second factors.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../api';
import { useLoad } from '../components/use-load';
import { ErrorBanner, Loading, PageTitle } from '../components/ui';
import { when } from '../format';
import { passkeysSupported, registerPasskey } from '../passkey';
import type { SessionUser } from '../session';

interface SessionRow {
  id: string;
  created_at: number | string;
  last_seen_at: number | string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export function Sessions(props: { user: SessionUser; onSignedOut: () => void }): JSX.Element {
  const sessions = useLoad(() => api<{ data: SessionRow[] } | SessionRow[]>('/auth/sessions'), []);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const rows = sessions.data === null ? [] : Array.isArray(sessions.data) ? sessions.data : sessions.data.data;
  const revoke = async (row: SessionRow): Promise<void> => {
    try {
      await api(`/auth/sessions/${encodeURIComponent(row.id)}`, { method: 'DELETE' });
      if (row.current) props.onSignedOut();
      else sessions.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const everywhere = async (): Promise<void> => {
    try {
      await api('/auth/logout-all', { method: 'POST', body: {} });
      props.onSignedOut();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const addPasskey = async (): Promise<void> => {
    try {
      await registerPasskey('Passkey');
      setNotice('Passkey added. You can now sign in with it.');
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <>
      <PageTitle
        actions={
          <button type="button" class="danger" onClick={() => void everywhere()}>
            Sign out everywhere
          </button>
        }
      >
        Sessions
      </PageTitle>
      <ErrorBanner error={sessions.error ?? error} />
      {notice ? (
        <p class="notice ok" role="status">
          {notice}
        </p>
      ) : null}
      {sessions.loading && !sessions.data ? <Loading /> : null}
      {rows.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last seen</th>
                <th scope="col">From</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.id}>
                  <td>
                    <code>{s.id}</code> {s.current ? <span class="badge">this browser</span> : null}
                  </td>
                  <td>{when(s.created_at)}</td>
                  <td>{when(s.last_seen_at)}</td>
                  <td>
                    {s.ip ?? '—'} <span class="muted">{s.user_agent ?? ''}</span>
                  </td>
                  <td>
                    <button type="button" onClick={() => void revoke(s)}>
                      {s.current ? 'Sign out' : 'Revoke'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <section aria-labelledby="mfa-title">
        <h2 id="mfa-title">Second factors</h2>
        <ul class="plain">
          <li>Authenticator app: {props.user.mfa.totp ? 'set up' : 'not set up'}</li>
          <li>Passkeys: {props.user.mfa.passkeys}</li>
          <li>Recovery codes left: {props.user.mfa.recovery_codes_left}</li>
        </ul>
        {passkeysSupported() ? (
          <button type="button" onClick={() => void addPasskey()}>
            Add a passkey
          </button>
        ) : null}
      </section>
    </>
  );
}
