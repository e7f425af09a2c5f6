// Sign-in, first-run setup, forced MFA enrolment, the second-factor prompt and the one-time recovery codes.
// Every call goes to /admin/v1/auth/* (contract in notes/task-cauth.md); the page keeps no secret after use:
// password and code fields are cleared, the TOTP seed is only inside the QR image and URL shown during enrolment.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../api';
import { passkeysSupported, registerPasskey, signInWithPasskey, stepUpWithPasskey, type AuthResult } from '../passkey';
import { ErrorBanner, Field } from '../components/ui';

type Done = (result: AuthResult) => void;

function AuthCard(props: { title: string; children: preact.ComponentChildren }): JSX.Element {
  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <p class="brand" aria-hidden="true">
          keywarden
        </p>
        <h1>{props.title}</h1>
        {props.children}
      </div>
    </main>
  );
}

export function SignIn(props: { onDone: Done; notice?: string | null }): JSX.Element {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = await api<AuthResult>('/auth/login', { method: 'POST', body: { name, password }, noStepUp: true });
      setPassword('');
      props.onDone(result);
    } catch (err) {
      setPassword('');
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const passkey = async (): Promise<void> => {
    setError(null);
    try {
      props.onDone(await signInWithPasskey());
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <AuthCard title="Sign in">
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <form onSubmit={(e) => void submit(e)}>
        <Field label="User name" id="signin-name">
          <input id="signin-name" name="username" autocomplete="username webauthn" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Password" id="signin-password">
          <input id="signin-password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <ErrorBanner error={error} />
        <button type="submit" class="primary wide" disabled={busy}>
          Sign in
        </button>
      </form>
      {passkeysSupported() ? (
        <button type="button" class="wide" onClick={() => void passkey()}>
          Sign in with a passkey
        </button>
      ) : null}
    </AuthCard>
  );
}

/** /setup#token=…: the token stays in the fragment (never sent in a URL to the server or a Referer) and is removed. */
export function Setup(props: { onDone: Done }): JSX.Element {
  const [token] = useState(() => {
    const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (match) history.replaceState(null, '', location.pathname);
    return match?.[1] ? decodeURIComponent(match[1]) : '';
  });
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(token ? null : 'This setup link has no token. Use the link printed by keywarden serve.');
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (password !== confirm) {
      setError('The two passwords differ.');
      return;
    }
    try {
      const result = await api<AuthResult>('/auth/setup', { method: 'POST', body: { token, name, password }, noStepUp: true });
      setPassword('');
      setConfirm('');
      props.onDone(result);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <AuthCard title="Create your account">
      <p>This one-time link creates your account. Next you will set up a second factor.</p>
      <form onSubmit={(e) => void submit(e)}>
        <Field label="User name" id="setup-name">
          <input id="setup-name" autocomplete="username" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Password" id="setup-password" hint="At least 12 characters, not your user name.">
          <input id="setup-password" type="password" autocomplete="new-password" minLength={12} required aria-describedby="setup-password-hint" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <Field label="Repeat the password" id="setup-confirm">
          <input id="setup-confirm" type="password" autocomplete="new-password" minLength={12} required value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
        </Field>
        <ErrorBanner error={error} />
        <button type="submit" class="primary wide" disabled={!token}>
          Create account
        </button>
      </form>
    </AuthCard>
  );
}

interface TotpStart {
  otpauth_url: string;
  qr_svg: string;
}

/** Forced enrolment: nothing else is reachable until a passkey or an authenticator app is set up. */
export function EnrollMfa(props: { onDone: Done; onSignOut: () => void }): JSX.Element {
  const [totp, setTotp] = useState<TotpStart | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const startTotp = async (): Promise<void> => {
    setError(null);
    try {
      setTotp(await api<TotpStart>('/auth/totp/enroll/start', { method: 'POST', body: {}, noStepUp: true }));
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const finishTotp = async (event: Event): Promise<void> => {
    event.preventDefault();
    try {
      const result = await api<AuthResult>('/auth/totp/enroll/finish', { method: 'POST', body: { code }, noStepUp: true });
      setTotp(null);
      props.onDone(result);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setCode('');
    }
  };
  const passkey = async (): Promise<void> => {
    setError(null);
    try {
      props.onDone(await registerPasskey('Passkey'));
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const secret = totp ? (new URL(totp.otpauth_url).searchParams.get('secret') ?? '') : '';
  return (
    <AuthCard title="Set up a second factor">
      <p>Every account needs a second factor. A passkey cannot be phished; an authenticator app is the fallback.</p>
      {passkeysSupported() ? (
        <button type="button" class="primary wide" onClick={() => void passkey()}>
          Use a passkey
        </button>
      ) : null}
      {totp === null ? (
        <button type="button" class="wide" onClick={() => void startTotp()}>
          Use an authenticator app
        </button>
      ) : (
        <form onSubmit={(e) => void finishTotp(e)}>
          <p>Scan this code with your authenticator app, then enter the 6-digit code it shows.</p>
          <img class="qr" alt="QR code for your authenticator app" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(totp.qr_svg)}`} width={200} height={200} />
          <details>
            <summary>Cannot scan? Enter the key by hand</summary>
            <code class="secret" data-testid="totp-secret">
              {secret}
            </code>
          </details>
          <Field label="6-digit code" id="enroll-code">
            <input id="enroll-code" inputMode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </Field>
          <button type="submit" class="primary wide">
            Verify and continue
          </button>
        </form>
      )}
      <ErrorBanner error={error} />
      <button type="button" class="link" onClick={props.onSignOut}>
        Sign out
      </button>
    </AuthCard>
  );
}

export function SecondFactor(props: { onDone: Done; onSignOut: () => void }): JSX.Element {
  const [mode, setMode] = useState<'totp' | 'recovery'>('totp');
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    try {
      props.onDone(await api<AuthResult>(mode === 'totp' ? '/auth/mfa/totp' : '/auth/mfa/recovery', { method: 'POST', body: { code }, noStepUp: true }));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setCode('');
    }
  };
  const passkey = async (): Promise<void> => {
    try {
      props.onDone(await signInWithPasskey());
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <AuthCard title="Confirm it is you">
      {passkeysSupported() ? (
        <button type="button" class="primary wide" onClick={() => void passkey()}>
          Use your passkey
        </button>
      ) : null}
      <form onSubmit={(e) => void submit(e)}>
        <Field label={mode === 'totp' ? 'Code from your authenticator app' : 'Recovery code'} id="mfa-code">
          <input id="mfa-code" autocomplete="one-time-code" inputMode={mode === 'totp' ? 'numeric' : 'text'} required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        </Field>
        <ErrorBanner error={error} />
        <button type="submit" class="wide">
          Verify
        </button>
      </form>
      <button type="button" class="link" onClick={() => setMode(mode === 'totp' ? 'recovery' : 'totp')}>
        {mode === 'totp' ? 'Use a recovery code instead' : 'Use an authenticator code instead'}
      </button>
      <button type="button" class="link" onClick={props.onSignOut}>
        Sign out
      </button>
    </AuthCard>
  );
}

/** Shown exactly once, right after the first factor is enrolled; the codes live only in this component's props. */
export function RecoveryCodes(props: { codes: string[]; onDone: () => void }): JSX.Element {
  const [copied, setCopied] = useState(false);
  const copy = async (): Promise<void> => {
    await navigator.clipboard.writeText(props.codes.join('\n'));
    setCopied(true);
  };
  return (
    <AuthCard title="Save your recovery codes">
      <p>Each code signs you in once if you lose your second factor. They are shown only now: store them somewhere safe.</p>
      <ol class="codes" data-testid="recovery-codes">
        {props.codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <div class="actions">
        <button type="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy codes'}
        </button>
        <button type="button" class="primary" onClick={props.onDone}>
          I saved them, continue
        </button>
      </div>
    </AuthCard>
  );
}

/** Step-up for sensitive actions (adding an upstream key, users): a fresh code or passkey, then the call retries. */
export function StepUpDialog(props: { onResult: (ok: boolean) => void }): JSX.Element {
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    try {
      await api('/auth/step-up', { method: 'POST', body: { code }, noStepUp: true });
      props.onResult(true);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setCode('');
    }
  };
  const passkey = async (): Promise<void> => {
    try {
      await stepUpWithPasskey();
      props.onResult(true);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <div class="overlay">
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="stepup-title">
        <h2 id="stepup-title">Confirm this action</h2>
        <p>This action needs a fresh second factor.</p>
        {passkeysSupported() ? (
          <button type="button" class="wide" onClick={() => void passkey()}>
            Use your passkey
          </button>
        ) : null}
        <form onSubmit={(e) => void submit(e)}>
          <Field label="Authenticator or recovery code" id="stepup-code">
            <input id="stepup-code" autocomplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </Field>
          <ErrorBanner error={error} />
          <div class="actions">
            <button type="button" onClick={() => props.onResult(false)}>
              Cancel
            </button>
            <button type="submit" class="primary">
              Confirm
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
