import { Agent, fetch, type Dispatcher } from 'undici';
import { guardedConnect, type OutboundLookup } from '../../policy/outbound-connect.js';
import type { Finding, ProviderId, Verification } from '../types.js';
import { mergeVerifyOverrides, verifyPolicy, type VerifyOverrides } from './endpoints.js';
import { VERIFY_ENDPOINTS } from './providers.js';

export interface VerifyOptions {
  timeoutMs: number;
  concurrency: number;
  /**
   * Base URL overrides from the command line (`--verify-endpoint`). Never from a project's keywarden.config: a
   * repository must not decide where its secrets are sent or what the verdict says.
   */
  commandLine?: VerifyOverrides;
  /** Overrides from the user-level config (~/.config/keywarden/config.yaml). */
  userConfig?: VerifyOverrides;
  /** KEYWARDEN_VERIFY_URL_* overrides are read from here. */
  env: NodeJS.ProcessEnv;
  /** Resolver override for the connect-time check (tests). */
  lookup?: OutboundLookup;
}

/** Where each provider is asked, and the connection pool that applies the outbound policy when it connects. */
interface VerifyNetwork {
  baseUrls: Map<ProviderId, string>;
  dispatcher: Dispatcher;
}

function verifyNetwork(options: VerifyOptions): VerifyNetwork {
  const overrides = mergeVerifyOverrides({ commandLine: options.commandLine ?? {}, env: options.env, userConfig: options.userConfig ?? {} });
  const policy = verifyPolicy(overrides);
  const baseUrls = new Map<ProviderId, string>();
  for (const [provider, endpoint] of Object.entries(VERIFY_ENDPOINTS) as Array<[ProviderId, { baseUrl: string }]>) {
    const base = overrides.get(provider)?.url ?? endpoint.baseUrl;
    if (base !== '') baseUrls.set(provider, base.replace(/\/+$/, ''));
  }
  const connect = guardedConnect(policy, { timeout: options.timeoutMs, ...(options.lookup ? { lookup: options.lookup } : {}) });
  return { baseUrls, dispatcher: new Agent({ connect }) };
}

/** The parts of a fetch Response the classifier reads (global and undici Responses both fit). */
export interface VerifyResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
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
export async function classifyResponse(response: VerifyResponse): Promise<VerifyOutcome> {
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

async function verifyWith(network: VerifyNetwork, provider: ProviderId, secret: string, timeoutMs: number): Promise<VerifyOutcome> {
  const endpoint = VERIFY_ENDPOINTS[provider];
  const base = network.baseUrls.get(provider);
  if (endpoint === undefined || base === undefined) return { verification: 'unknown', detail: 'no verification endpoint' };
  try {
    const response = await fetch(`${base}${endpoint.path}`, {
      method: 'GET',
      headers: { accept: 'application/json', ...endpoint.headers(secret) },
      redirect: 'manual',
      dispatcher: network.dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return await classifyResponse(response);
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    const refused = err instanceof Error && (err.cause as { code?: unknown } | undefined)?.code === 'EOUTBOUNDREFUSED';
    // The error text may echo request details, so only its kind is kept.
    return { verification: 'unknown', detail: timedOut ? 'timeout' : refused ? 'refused by the outbound policy' : 'network error' };
  }
}

/** Verifies one secret (its own connection pool; verifyFindings shares one across many). */
export async function verifySecret(provider: ProviderId, secret: string, options: VerifyOptions): Promise<VerifyOutcome> {
  const network = verifyNetwork(options);
  try {
    return await verifyWith(network, provider, secret, options.timeoutMs);
  } finally {
    await network.dispatcher.close();
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
  const network = verifyNetwork(options);
  const worker = async (): Promise<void> => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
      const first = group[0] as Finding;
      const outcome = await verifyWith(network, first.provider, first.secret, options.timeoutMs);
      for (const finding of group) {
        finding.verification = outcome.verification;
        finding.verificationDetail = outcome.detail;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, queue.length)) }, worker));
  } finally {
    await network.dispatcher.close();
  }
  return findings;
}
