import { Secret, TOTP } from 'otpauth';
import type { Harness } from '../support/gateway-harness.js';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
  raw: string;
}

export interface CallOptions {
  /** Send this X-CSRF-Token instead of the session's (false: none). */
  csrf?: string | false;
  origin?: string;
  /** Extra headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Send this text as the body as it is (malformed JSON, huge nesting). */
  rawBody?: string;
}

/** A browser-like console client: keeps the session cookie, sends the CSRF token, records every response body. */
export class ConsoleClient {
  cookie: string | null = null;
  csrf: string | null = null;
  /** Every response body this client saw, to grep for secrets. */
  readonly seen: string[] = [];

  constructor(private readonly h: Harness) {}

  get origin(): string {
    return this.h.server.url;
  }

  async call<T = Record<string, unknown>>(method: string, route: string, body?: unknown, options: CallOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (this.cookie) headers.cookie = this.cookie;
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    if (csrf) headers['x-csrf-token'] = csrf;
    if (options.origin !== undefined) headers.origin = options.origin;
    const res = await fetch(`${this.h.server.url}/admin/v1${route}`, { method, headers, body: options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body)) });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = (pair ?? '').split('=');
      if (name === 'kw_session' || name === '__Host-kw_session') this.cookie = value ? `${name}=${value}` : null;
    }
    const raw = await res.text();
    this.seen.push(raw, res.headers.getSetCookie().join('\n'));
    const parsed = (raw === '' ? {} : JSON.parse(raw)) as T & { csrf_token?: string };
    if (typeof parsed.csrf_token === 'string') this.csrf = parsed.csrf_token;
    return { status: res.status, body: parsed, headers: res.headers, raw };
  }

  /** The session id in the cookie (what must never appear anywhere else). */
  get sessionId(): string | null {
    return this.cookie?.split('=')[1] ?? null;
  }
}

export const errorCode = (body: unknown): unknown => (body as { error?: { code?: unknown } }).error?.code;
export const errorMessage = (body: unknown): string => (body as { error?: { message?: string } }).error?.message ?? '';

/** The code an authenticator app shows at `timestamp` for the enrolment URL (RFC 6238, computed by otpauth). */
export function totpCode(otpauthUrl: string, timestamp: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(seedOf(otpauthUrl)), algorithm: 'SHA1', digits: 6, period: 30, timestamp });
}

export function seedOf(otpauthUrl: string): string {
  return new URL(otpauthUrl).searchParams.get('secret') ?? '';
}

/** The setup token inside a printed setup link. */
export function tokenOf(setupUrl: string): string {
  return new URL(setupUrl).hash.replace(/^#token=/, '');
}

export const PASSWORD = 'correct horse battery staple 7';
const STEP_MS = 30_000;

export interface EnrolledUser {
  browser: ConsoleClient;
  id: string;
  name: string;
  password: string;
  otpauthUrl: string;
  recoveryCodes: string[];
}

/** Moves the gateway's clock to the next TOTP step, so the next code is not a replay of the last one. */
export function nextStep(h: Harness): void {
  h.clock.advance(STEP_MS);
}

/** From a password-passed session in `mfa_enrollment_required`: enrols TOTP, ends signed in. */
export async function enrollTotp(h: Harness, browser: ConsoleClient): Promise<{ otpauthUrl: string; recoveryCodes: string[] }> {
  const start = await browser.call<{ otpauth_url: string }>('POST', '/auth/totp/enroll/start');
  if (start.status !== 200) throw new Error(`enroll/start: ${start.raw}`);
  const finish = await browser.call<{ state: string; recovery_codes: string[] }>('POST', '/auth/totp/enroll/finish', { code: totpCode(start.body.otpauth_url, h.clock.now()) });
  if (finish.body.state !== 'signed_in') throw new Error(`enroll/finish: ${finish.raw}`);
  nextStep(h);
  return { otpauthUrl: start.body.otpauth_url, recoveryCodes: finish.body.recovery_codes };
}

/** The first owner, through the setup link printed at start. */
export async function setUpOwner(h: Harness, name = 'owner'): Promise<EnrolledUser> {
  const browser = new ConsoleClient(h);
  const setup = await browser.call('POST', '/auth/setup', { token: tokenOf(h.server.notice.setupLink ?? ''), name, password: PASSWORD });
  if (setup.status !== 200) throw new Error(`setup: ${setup.raw}`);
  const enrolled = await enrollTotp(h, browser);
  const session = await browser.call<{ user: { id: string } }>('GET', '/auth/session');
  return { browser, id: session.body.user.id, name, password: PASSWORD, ...enrolled };
}

/** Another user, created with the admin token (no step-up for tokens), signed in and enrolled. */
export async function addUser(h: Harness, name: string, role: string): Promise<EnrolledUser> {
  const created = await h.admin<{ id: string }>('POST', '/users', { name, role, password: PASSWORD });
  if (created.status !== 201) throw new Error(`add user: ${JSON.stringify(created.body)}`);
  const browser = new ConsoleClient(h);
  const login = await browser.call('POST', '/auth/login', { name, password: PASSWORD });
  if (login.body.state !== 'mfa_enrollment_required') throw new Error(`login: ${login.raw}`);
  const enrolled = await enrollTotp(h, browser);
  return { browser, id: created.body.id, name, password: PASSWORD, ...enrolled };
}

/** A new browser signing in with password + TOTP. */
export async function signIn(h: Harness, user: EnrolledUser, headers: Record<string, string> = {}): Promise<ConsoleClient> {
  const browser = new ConsoleClient(h);
  const login = await browser.call('POST', '/auth/login', { name: user.name, password: user.password }, { headers });
  if (login.body.state !== 'mfa_required') throw new Error(`login: ${login.raw}`);
  const mfa = await browser.call('POST', '/auth/mfa/totp', { code: totpCode(user.otpauthUrl, h.clock.now()) }, { headers });
  if (mfa.body.state !== 'signed_in') throw new Error(`mfa: ${mfa.raw}`);
  nextStep(h);
  return browser;
}
