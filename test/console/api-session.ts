// A console session driven from Node (cookie + CSRF token), for the setup steps of the negative browser tests:
// the attacks themselves run in the browser or as hand-made requests.
import { Authenticator } from './browser-support.js';

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export class ApiSession {
  cookie = '';
  csrf: string | null = null;
  authenticator: Authenticator | null = null;
  recoveryCodes: string[] = [];
  constructor(readonly base: string) {}

  async call<T = Record<string, unknown>>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
    const res = await fetch(`${this.base}/admin/v1${route}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(this.csrf && method !== 'GET' ? { 'x-csrf-token': this.csrf } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      if (pair && /^(__Host-)?kw_session=/.test(pair)) this.cookie = pair.endsWith('=') ? '' : pair;
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as T };
  }

  async refreshCsrf(): Promise<Record<string, unknown>> {
    const session = await this.call<{ state: string; csrf_token?: string }>('GET', '/auth/session');
    this.csrf = session.body.csrf_token ?? null;
    return session.body;
  }

  /** Setup link → account → TOTP enrolment (the authenticator is kept for later codes). */
  async setupWithTotp(link: string, name: string, password: string): Promise<void> {
    const token = decodeURIComponent(/#token=([^&\s]+)/.exec(link)?.[1] ?? '');
    const setup = await this.call('POST', '/auth/setup', { token, name, password });
    if (setup.status !== 200 && setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
    await this.refreshCsrf();
    const start = await this.call<{ otpauth_url: string }>('POST', '/auth/totp/enroll/start', {});
    if (start.status !== 200) throw new Error(`enrol start failed: ${start.status} ${JSON.stringify(start.body)}`);
    const secret = new URL(start.body.otpauth_url).searchParams.get('secret') ?? '';
    this.authenticator = new Authenticator(secret);
    const finish = await this.call<{ recovery_codes?: string[] }>('POST', '/auth/totp/enroll/finish', { code: await this.authenticator.freshCode() });
    if (finish.status !== 200) throw new Error(`enrol finish failed: ${finish.status} ${JSON.stringify(finish.body)}`);
    this.recoveryCodes = finish.body.recovery_codes ?? [];
    await this.refreshCsrf();
  }

  /** A fresh second factor, unless the session's last one is still good for a while (it lasts 5 minutes). */
  async stepUp(): Promise<void> {
    if (!this.authenticator) throw new Error('no authenticator');
    const session = (await this.refreshCsrf()) as { step_up_until?: number | null };
    if (typeof session.step_up_until === 'number' && session.step_up_until > Date.now() + 60_000) return;
    const res = await this.call('POST', '/auth/step-up', { code: await this.authenticator.freshCode() });
    if (res.status !== 200) throw new Error(`step-up failed: ${res.status} ${JSON.stringify(res.body)}`);
  }

  /** Creates a user (owner only, step-up first) and returns its one-time setup link. */
  async createUser(name: string, role: 'owner' | 'admin' | 'viewer'): Promise<string> {
    await this.stepUp();
    const res = await this.call('POST', '/users', { name, role });
    const link = /https?:\/\/[^\s"]+\/setup#token=[^\s"]+/.exec(JSON.stringify(res.body))?.[0];
    if (!link) throw new Error(`creating ${name} gave no setup link: ${res.status} ${JSON.stringify(res.body)}`);
    return link;
  }
}
