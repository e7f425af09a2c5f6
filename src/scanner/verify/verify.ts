import type { Finding, ProviderId, Verification } from '../types.js';
import { VERIFY_ENDPOINTS, envBaseUrlName } from './providers.js';

export interface VerifyOptions {
  timeoutMs: number;
  concurrency: number;
  /** Base URL overrides per provider (config), applied under the environment ones. */
  baseUrls: Partial<Record<ProviderId, string>>;
  env: NodeJS.ProcessEnv;
}

export interface VerifyOutcome {
  verification: Verification;
  detail: string;
}

/**
 * `live` only on a clear success: a 2xx answer with a JSON body. A 401 (and Google's 400 API_KEY_INVALID) is a
 * definite `invalid`. Everything else — 403 (often a WAF), 429, 5xx, an HTML block page, a timeout, a network
 * error — proves nothing either way and is `unknown`.
 */
export async function classifyResponse(response: Response): Promise<VerifyOutcome> {
  const type = response.headers.get('content-type') ?? '';
  const isJson = /\bjson\b/i.test(type);
  const body = await response.text().catch(() => '');
  if (response.status >= 200 && response.status < 300) {
    if (!isJson) return { verification: 'unknown', detail: `HTTP ${response.status} with a non-JSON body` };
    try {
      JSON.parse(body);
    } catch {
      return { verification: 'unknown', detail: `HTTP ${response.status} with an unparseable body` };
    }
    return { verification: 'live', detail: `HTTP ${response.status}` };
  }
  if (response.status === 401 && !/<html/i.test(body)) return { verification: 'invalid', detail: 'HTTP 401' };
  if (response.status === 400 && isJson && body.includes('API_KEY_INVALID')) return { verification: 'invalid', detail: 'HTTP 400 API_KEY_INVALID' };
  return { verification: 'unknown', detail: `HTTP ${response.status}` };
}

function baseUrlFor(provider: ProviderId, options: VerifyOptions): string | undefined {
  const fromEnv = options.env[envBaseUrlName(provider)];
  const configured = fromEnv !== undefined && fromEnv !== '' ? fromEnv : options.baseUrls[provider];
  const base = configured ?? VERIFY_ENDPOINTS[provider]?.baseUrl;
  return base === undefined || base === '' ? undefined : base.replace(/\/+$/, '');
}

export async function verifySecret(provider: ProviderId, secret: string, options: VerifyOptions): Promise<VerifyOutcome> {
  const endpoint = VERIFY_ENDPOINTS[provider];
  const base = baseUrlFor(provider, options);
  if (endpoint === undefined || base === undefined) return { verification: 'unknown', detail: 'no verification endpoint' };
  try {
    const response = await fetch(`${base}${endpoint.path}`, {
      method: 'GET',
      headers: { accept: 'application/json', ...endpoint.headers(secret) },
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    return await classifyResponse(response);
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    // The error text may echo request details, so only its kind is kept.
    return { verification: 'unknown', detail: timedOut ? 'timeout' : 'network error' };
  }
}

/**
 * Verifies every distinct (provider, secret) once, at most `concurrency` at a time, and stamps each finding.
 * Findings are updated in place and returned for convenience.
 */
export async function verifyFindings(findings: Finding[], options: VerifyOptions): Promise<Finding[]> {
  const jobs = new Map<string, Finding[]>();
  for (const finding of findings) {
    const key = `${finding.provider}\u0000${finding.fingerprint}`;
    jobs.set(key, [...(jobs.get(key) ?? []), finding]);
  }
  const queue = [...jobs.values()];
  const worker = async (): Promise<void> => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
      const first = group[0] as Finding;
      const outcome = await verifySecret(first.provider, first.secret, options);
      for (const finding of group) {
        finding.verification = outcome.verification;
        finding.verificationDetail = outcome.detail;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, queue.length)) }, worker));
  return findings;
}
