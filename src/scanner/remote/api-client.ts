import { Agent, fetch, type Dispatcher } from 'undici';
import { KeywardenError } from '../../errors/index.js';
import { guardedConnect, type OutboundLookup } from '../../policy/outbound-connect.js';
import { createOutboundPolicy, type OutboundPolicy } from '../../policy/outbound-url.js';
import { cloneHosts } from './clone-url.js';

/** One REST API (GitHub or GitLab) reached with a token: pagination, rate-limit back-off, timeouts, size bounds. */
export interface ApiClientOptions {
  /** API base URL, e.g. https://api.github.com or https://gitlab.example.com/api/v4 (no trailing slash needed). */
  baseUrl: string;
  /** Authorization headers for the API; never logged, never put into URLs or errors. */
  authHeaders: Record<string, string>;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /** The longest single rate-limit wait accepted; a longer reset is an error rather than a silent hour-long stall. */
  maxWaitMs?: number;
  /** Rate-limited answers retried per request before giving up. */
  maxRetries?: number;
  /** Pages followed per listing; a server that never stops paginating cannot hold the scan forever. */
  maxPages?: number;
  /** Resolver override (tests). */
  lookup?: OutboundLookup;
  /** Sleep override (tests count waits). */
  sleep?: (ms: number) => Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_WAIT_MS = 15 * 60_000;

export interface ApiPage {
  body: unknown;
  headers: Headers;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The policy an API base URL is checked under: a public https host passes as is; a host the user named with
 * `--github-api` / `--gitlab-api` is allowed explicitly (a GitHub Enterprise or GitLab on the LAN is the user's
 * call, as with `--verify-endpoint`), but the URL must still be http(s) without credentials or fragment.
 */
export function apiPolicy(baseUrl: string, userNamed: boolean, flag: string): { policy: OutboundPolicy; base: URL } {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new KeywardenError('KW_USAGE', { message: `${flag} is not a valid URL` });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new KeywardenError('KW_USAGE', { message: `${flag} must be http or https` });
  const allow: string[] = [];
  if (userNamed) {
    const port = parsed.port === '' ? (parsed.protocol === 'http:' ? 80 : 443) : Number(parsed.port);
    // Naming the API names its web and gist hosts too (api.ghe.corp → ghe.corp): clone URLs point there.
    for (const host of cloneHosts(parsed)) allow.push(host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
  }
  const policy = createOutboundPolicy({ allow });
  const verdict = policy.checkUrl(baseUrl);
  if (!verdict.ok) throw new KeywardenError('KW_USAGE', { message: `${flag}: ${verdict.reason}` });
  return { policy, base: verdict.url };
}

/** Seconds until the rate limit lifts, from `retry-after` or `x-ratelimit-reset` (epoch seconds); undefined if neither. */
export function rateLimitWaitMs(headers: Headers, now: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null && /^\d{1,7}$/.test(retryAfter.trim())) return Number(retryAfter.trim()) * 1000;
  const reset = headers.get('x-ratelimit-reset');
  if (reset !== null && /^\d{1,12}$/.test(reset.trim())) return Math.max(0, Number(reset.trim()) * 1000 - now);
  return undefined;
}

function isRateLimited(status: number, headers: Headers): boolean {
  if (status === 429) return true;
  // GitHub answers an exhausted primary or a secondary rate limit with 403 and these headers.
  return status === 403 && (headers.get('x-ratelimit-remaining') === '0' || headers.get('retry-after') !== null);
}

async function readBounded(response: Awaited<ReturnType<typeof fetch>>): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw new Error('body too large');
  const chunks: Buffer[] = [];
  let total = 0;
  if (response.body !== null) {
    for await (const chunk of response.body) {
      const buffer = Buffer.from(chunk as Uint8Array);
      total += buffer.length;
      if (total > MAX_BODY_BYTES) throw new Error('body too large');
      chunks.push(buffer);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class ApiClient {
  readonly base: URL;
  private readonly dispatcher: Dispatcher;
  private readonly options: ApiClientOptions;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Set when the last answer said the quota is spent: the next request waits until then. */
  private resumeAt = 0;

  constructor(options: ApiClientOptions, policy: OutboundPolicy) {
    this.options = options;
    this.base = new URL(options.baseUrl.replace(/\/+$/, ''));
    this.sleep = options.sleep ?? realSleep;
    const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const connect = guardedConnect(policy, { timeout, ...(options.lookup ? { lookup: options.lookup } : {}) });
    this.dispatcher = new Agent({ connect, headersTimeout: timeout, bodyTimeout: timeout });
  }

  /** An absolute URL for an API path under the base (`/orgs/x/repos`). */
  url(pathAndQuery: string): string {
    return `${this.base.href.replace(/\/+$/, '')}${pathAndQuery}`;
  }

  /**
   * A next-page URL must stay on the API's origin and under its base path: the token goes with every request,
   * so a hostile or confused server must not be able to send it elsewhere through a `Link` header.
   */
  private sameApi(raw: string): string | undefined {
    let next: URL;
    try {
      next = new URL(raw, this.base);
    } catch {
      return undefined;
    }
    const basePath = this.base.pathname.replace(/\/+$/, '');
    if (next.origin !== this.base.origin || !next.pathname.startsWith(`${basePath}/`) || next.username !== '' || next.password !== '') return undefined;
    return next.href;
  }

  private async waitFor(ms: number, what: string): Promise<void> {
    const limit = this.options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    if (ms > limit) {
      throw new KeywardenError('KW_USAGE', { message: `${what}: the API rate limit resets in ${Math.ceil(ms / 1000)} s, longer than the ${Math.ceil(limit / 1000)} s this scan waits` });
    }
    if (ms > 0) await this.sleep(ms);
  }

  /** GET one URL as JSON, waiting out rate limits. `what` names the request in errors (never the token). */
  async get(url: string, what: string): Promise<ApiPage> {
    const maxRetries = this.options.maxRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      const pause = this.resumeAt - Date.now();
      if (pause > 0) await this.waitFor(pause, what);
      let response: Awaited<ReturnType<typeof fetch>>;
      let text: string;
      try {
        response = await fetch(url, {
          headers: { accept: 'application/json', 'user-agent': 'keywarden-scan', ...this.options.authHeaders },
          dispatcher: this.dispatcher,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        });
        text = await readBounded(response);
      } catch (error) {
        // The error text may echo request details, so only its kind is kept.
        const kind = error instanceof Error ? (error.name === 'TimeoutError' ? 'timed out' : error.message === 'body too large' ? 'answer too large' : 'connection failed') : 'failed';
        throw new KeywardenError('KW_USAGE', { message: `${what}: request to ${this.base.host} ${kind}` });
      }
      const remaining = response.headers.get('x-ratelimit-remaining');
      if (remaining === '0') {
        const wait = rateLimitWaitMs(response.headers, Date.now());
        this.resumeAt = wait === undefined ? 0 : Date.now() + wait;
      } else this.resumeAt = 0;
      if (isRateLimited(response.status, response.headers)) {
        if (attempt >= maxRetries) throw new KeywardenError('KW_USAGE', { message: `${what}: still rate-limited after ${maxRetries} retries` });
        const wait = rateLimitWaitMs(response.headers, Date.now()) ?? 2 ** attempt * 1000;
        this.resumeAt = 0;
        await this.waitFor(wait, what);
        continue;
      }
      if (response.status >= 300 && response.status < 400) {
        throw new KeywardenError('KW_USAGE', { message: `${what}: the API answered with a redirect (${response.status}); point the API URL at its final address` });
      }
      if (response.status === 401) throw new KeywardenError('KW_USAGE', { message: `${what}: the API refused the token (401)` });
      if (response.status === 404) throw new KeywardenError('KW_USAGE', { message: `${what}: not found (404), or the token cannot see it` });
      if (response.status !== 200) throw new KeywardenError('KW_USAGE', { message: `${what}: the API answered ${response.status}` });
      try {
        return { body: JSON.parse(text) as unknown, headers: response.headers };
      } catch {
        throw new KeywardenError('KW_USAGE', { message: `${what}: the API answer is not JSON` });
      }
    }
  }

  /**
   * Every item of a paginated listing. The next page comes from `Link: <…>; rel="next"` (GitHub, GitLab) or,
   * failing that, GitLab's `x-next-page`. A page that is not an array ends the listing with an error.
   */
  async list(pathAndQuery: string, what: string): Promise<unknown[]> {
    const items: unknown[] = [];
    const seen = new Set<string>();
    let url: string | undefined = this.url(pathAndQuery);
    const maxPages = this.options.maxPages ?? 1000;
    for (let page = 0; url !== undefined; page++) {
      if (page >= maxPages) throw new KeywardenError('KW_USAGE', { message: `${what}: more than ${maxPages} pages` });
      // A server that links a page to itself (or loops) would otherwise keep us listing forever.
      if (seen.has(url)) break;
      seen.add(url);
      const { body, headers } = await this.get(url, what);
      if (!Array.isArray(body)) throw new KeywardenError('KW_USAGE', { message: `${what}: the API answer is not a list` });
      items.push(...(body as unknown[]));
      url = this.nextPage(url, headers);
    }
    return items;
  }

  private nextPage(current: string, headers: Headers): string | undefined {
    const link = headers.get('link');
    if (link !== null) {
      for (const part of link.split(',')) {
        const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
        if (match !== null && /\brel\s*=\s*"?next"?/i.test(match[2] ?? '')) return this.sameApi(match[1] ?? '');
      }
      return undefined;
    }
    const nextPage = headers.get('x-next-page');
    if (nextPage !== null && /^\d{1,7}$/.test(nextPage.trim())) {
      const url = new URL(current);
      url.searchParams.set('page', nextPage.trim());
      return url.href;
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
