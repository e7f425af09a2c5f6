import { KeywardenError } from '../errors/index.js';
import { gatewayRootUrl } from './gateway-url.js';

export const DEFAULT_URL = 'http://127.0.0.1:8787';

/** Talks to the admin API the way any automation would: KEYWARDEN_URL + KEYWARDEN_ADMIN_TOKEN. */
export class AdminClient {
  private readonly base: string;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.base = gatewayRootUrl(env);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await this.requestText(method, path, body);
    return (text ? JSON.parse(text) : null) as T;
  }

  /** The response body as text (CSV and JSON-lines exports); API errors become KeywardenErrors. */
  async requestText(method: string, path: string, body?: unknown): Promise<string> {
    const token = this.env.KEYWARDEN_ADMIN_TOKEN;
    if (!token) {
      throw new KeywardenError('KW_USAGE', { message: 'Set KEYWARDEN_ADMIN_TOKEN to an admin token.' });
    }
    let response: Response;
    try {
      response = await fetch(`${this.base}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { message: `Cannot reach keywarden at ${this.base} (set KEYWARDEN_URL).` });
    }
    const text = await response.text();
    if (!response.ok) {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
      const message = (parsed as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${response.status}`;
      throw new KeywardenError('KW_USAGE', { message });
    }
    return text;
  }
}
