import { KeywardenError } from '../../errors/index.js';
import { parseIpLiteral } from '../../policy/outbound-address.js';
import { normalizeHost, type OutboundPolicy } from '../../policy/outbound-url.js';

/**
 * Hosts a clone URL may point at, given the API base: the API host itself (GitLab, GitHub Enterprise at
 * /api/v3), the web host behind an `api.` name (api.github.com → github.com) and that host's `gist.` name.
 * An API answer naming any other host is refused: the token would travel there, and a hostile answer could
 * aim git at an internal service or a `file://` / `ext::` transport.
 */
export function cloneHosts(apiBase: URL): Set<string> {
  const apiHost = normalizeHost(apiBase.hostname);
  // An IP literal has no web or gist name beside it.
  if (parseIpLiteral(apiHost) !== null) return new Set([apiHost]);
  const web = apiHost.startsWith('api.') ? apiHost.slice(4) : apiHost;
  return new Set([apiHost, web, `gist.${web}`]);
}

/** Checks a clone URL an API returned; returns it normalised or throws a usage error naming the repository only. */
export function checkCloneUrl(raw: string, apiBase: URL, policy: OutboundPolicy, repoName: string): URL {
  const verdict = policy.checkUrl(raw);
  if (!verdict.ok) throw new KeywardenError('KW_USAGE', { message: `clone URL of ${repoName} refused: ${verdict.reason}` });
  const url = verdict.url;
  if (url.search !== '') throw new KeywardenError('KW_USAGE', { message: `clone URL of ${repoName} refused: it carries a query` });
  // Plain http only when the API itself was named with http (a test server, a LAN GitLab) on that same host.
  if (url.protocol === 'http:' && apiBase.protocol !== 'http:') {
    throw new KeywardenError('KW_USAGE', { message: `clone URL of ${repoName} refused: plain http while the API uses https` });
  }
  if (!cloneHosts(apiBase).has(normalizeHost(url.hostname)) || (url.protocol === 'http:' && url.port !== apiBase.port)) {
    throw new KeywardenError('KW_USAGE', { message: `clone URL of ${repoName} refused: it points at a host other than the API's` });
  }
  return url;
}
