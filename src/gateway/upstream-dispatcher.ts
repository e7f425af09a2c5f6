import { EnvHttpProxyAgent, Pool, type Dispatcher } from 'undici';

export interface UpstreamPoolOptions {
  connections: number;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  pipelining: number;
  /** Opens direct connections (the outbound policy's connect-time address check). */
  connect?: Pool.Options['connect'];
}

/** The outbound proxy settings in an environment, with the lower-case spellings curl and most tools also accept. */
export interface ProxySettings {
  httpProxy: string | undefined;
  httpsProxy: string | undefined;
  noProxy: string;
}

function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

export function proxySettings(env: NodeJS.ProcessEnv): ProxySettings | null {
  const httpProxy = firstSet(env, ['http_proxy', 'HTTP_PROXY']);
  const httpsProxy = firstSet(env, ['https_proxy', 'HTTPS_PROXY']);
  if (httpProxy === undefined && httpsProxy === undefined) return null;
  return { httpProxy, httpsProxy, noProxy: firstSet(env, ['no_proxy', 'NO_PROXY']) ?? '' };
}

/**
 * The dispatcher for one upstream origin. Without a proxy in the environment it is the same keep-alive Pool as
 * always (the hot path does not change). With HTTPS_PROXY / HTTP_PROXY set, undici's EnvHttpProxyAgent tunnels
 * through the proxy (CONNECT) unless NO_PROXY names the host. The settings are passed explicitly, so undici never
 * consults process.env behind the caller's back.
 */
export function createUpstreamDispatcher(origin: string, options: UpstreamPoolOptions, env: NodeJS.ProcessEnv): Dispatcher {
  const proxy = proxySettings(env);
  if (proxy === null) return new Pool(origin, options);
  // Through a proxy the proxy resolves and connects to the upstream, so the connect-time address check cannot
  // apply there; the proxy itself is the operator's choice. The URL policy still applied when the record loaded.
  const { connect: _direct, ...proxied } = options;
  return new EnvHttpProxyAgent({
    ...proxied,
    // Explicit empty strings stop undici from falling back to process.env for an unset variable.
    httpProxy: proxy.httpProxy ?? '',
    httpsProxy: proxy.httpsProxy ?? proxy.httpProxy ?? '',
    noProxy: proxy.noProxy,
  });
}
