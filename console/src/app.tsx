// The console shell: picks the screen from the session state (sign-in, setup, forced MFA enrolment, second
// factor) and, once signed in, from the path. Nothing else is reachable before the second factor.
import type { JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, errorMessage, setCsrfToken, setSignedOutHandler, setStepUpHandler } from './api';
import { ErrorBanner, Link, Loading } from './components/ui';
import type { AuthResult } from './passkey';
import { navigate, usePath } from './router';
import { canWrite, isOwner, loadSession, type SessionInfo } from './session';
import { Alerts } from './screens/alerts';
import { Audit } from './screens/audit';
import { EnrollMfa, RecoveryCodes, SecondFactor, Setup, SignIn, StepUpDialog } from './screens/auth';
import { KeyDetail } from './screens/key-detail';
import { KeyCreate, KeysList } from './screens/keys';
import { Overview } from './screens/overview';
import { Security } from './screens/security';
import { Sessions } from './screens/sessions';
import { Upstreams } from './screens/upstreams';
import { Usage } from './screens/usage';
import { Users } from './screens/users';

const NAV: { href: string; label: string; owner?: boolean }[] = [
  { href: '/', label: 'Overview' },
  { href: '/keys', label: 'Keys' },
  { href: '/upstreams', label: 'Upstreams' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/usage', label: 'Usage' },
  { href: '/audit', label: 'Audit' },
  { href: '/security', label: 'Security' },
  { href: '/sessions', label: 'Sessions' },
  { href: '/users', label: 'Users', owner: true },
];

function Screen(props: { path: string; session: SessionInfo; onSignedOut: () => void }): JSX.Element {
  const user = props.session.user;
  const write = canWrite(user);
  const { path } = props;
  if (path === '/' || path === '/overview') return <Overview />;
  if (path === '/keys') return <KeysList canWrite={write} />;
  if (path === '/keys/new') return write ? <KeyCreate /> : <p>Your role cannot create keys.</p>;
  const keyMatch = /^\/keys\/([^/]+)$/.exec(path);
  if (keyMatch?.[1]) return <KeyDetail id={decodeURIComponent(keyMatch[1])} canWrite={write} />;
  if (path === '/upstreams') return <Upstreams canWrite={isOwner(user)} />;
  if (path === '/alerts') return <Alerts canWrite={write} />;
  if (path === '/usage') return <Usage />;
  if (path === '/audit') return <Audit />;
  if (path === '/security') return <Security />;
  if (path === '/sessions' && user) return <Sessions user={user} onSignedOut={props.onSignedOut} />;
  if (path === '/users' && user && isOwner(user)) return <Users selfId={user.id} />;
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no page here. Go to the <Link href="/">overview</Link>.
      </p>
    </>
  );
}

export function App(): JSX.Element {
  const path = usePath();
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const [stepUp, setStepUp] = useState<((ok: boolean) => void) | null>(null);
  const [menuOpen, setMenuOpen] = useState(false);

  const refresh = useCallback(async (): Promise<void> => {
    try {
      setSession(await loadSession());
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);

  useEffect(() => {
    setSignedOutHandler(() => {
      setNotice('Your session has ended. Sign in again.');
      setCsrfToken(null);
      void refresh();
    });
    setStepUpHandler(() => new Promise<boolean>((resolve) => setStepUp(() => resolve)));
    void refresh();
  }, [refresh]);

  const afterAuth = (result: AuthResult): void => {
    if (result.recovery_codes && result.recovery_codes.length > 0) setRecoveryCodes(result.recovery_codes);
    setNotice(null);
    void refresh();
  };
  const signOut = async (): Promise<void> => {
    try {
      await api('/auth/logout', { method: 'POST', body: {}, noStepUp: true });
    } catch {
      // already signed out server-side: the state reload below shows sign-in either way
    }
    setCsrfToken(null);
    navigate('/', true);
    await refresh();
  };

  if (error && !session) {
    return (
      <main class="auth" id="main">
        <ErrorBanner error={error} />
        <button type="button" onClick={() => void refresh()}>
          Retry
        </button>
      </main>
    );
  }
  if (!session) return <Loading />;
  if (recoveryCodes) return <RecoveryCodes codes={recoveryCodes} onDone={() => setRecoveryCodes(null)} />;
  if (path === '/setup' && (session.state === 'anonymous' || session.state === 'setup_required')) return <Setup onDone={afterAuth} />;
  if (session.state === 'setup_required') {
    return (
      <main class="auth" id="main">
        <div class="auth-card">
          <h1>Finish the setup</h1>
          <p>No account exists yet. Open the one-time setup link that `keywarden serve` printed when it started.</p>
        </div>
      </main>
    );
  }
  if (session.state === 'anonymous') return <SignIn onDone={afterAuth} notice={notice} />;
  if (session.state === 'mfa_enrollment_required') return <EnrollMfa onDone={afterAuth} onSignOut={() => void signOut()} />;
  if (session.state === 'mfa_required') return <SecondFactor onDone={afterAuth} onSignOut={() => void signOut()} />;

  const user = session.user;
  const current = path === '/setup' ? '/' : path;
  if (path === '/setup') navigate('/', true);
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">keywarden</span>
        <button type="button" class="menu" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          Menu
        </button>
        <span class="who">
          {user?.name} <span class="badge">{user?.role}</span>
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav id="nav" class={menuOpen ? 'open' : ''} aria-label="Main">
        <ul>
          {NAV.filter((n) => !n.owner || isOwner(user)).map((n) => {
            const active = n.href === '/' ? current === '/' : current === n.href || current.startsWith(`${n.href}/`);
            return (
              <li key={n.href} onClick={() => setMenuOpen(false)}>
                <Link href={n.href} aria-current={active ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" class="content">
        <Screen key={current} path={current} session={session} onSignedOut={() => void refresh()} />
      </main>
      {stepUp ? (
        <StepUpDialog
          onResult={(ok) => {
            stepUp(ok);
            setStepUp(null);
            void refresh();
          }}
        />
      ) : null}
    </div>
  );
}
