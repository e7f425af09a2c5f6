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
    const res = await fetch(`${this.h.server.url}/admin/v1${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
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
