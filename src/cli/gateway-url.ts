export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8787';

/**
 * The gateway's root URL from KEYWARDEN_URL. People paste what they have at hand: the root, the OpenAI base URL
 * apps use (`…/v1`) or the admin API (`…/admin/v1`), with or without a trailing slash. All mean the same gateway.
 */
export function gatewayRootUrl(env: NodeJS.ProcessEnv): string {
  const raw = env.KEYWARDEN_URL?.trim();
  let url = raw === undefined || raw === '' ? DEFAULT_GATEWAY_URL : raw;
  url = url.replace(/\/+$/, '');
  for (const suffix of ['/admin/v1', '/v1']) {
    if (url.toLowerCase().endsWith(suffix)) {
      url = url.slice(0, -suffix.length).replace(/\/+$/, '');
      break;
    }
  }
  return url;
}
