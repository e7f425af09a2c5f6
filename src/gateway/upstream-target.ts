import type { UpstreamRuntime } from './upstream-registry.js';

export interface UpstreamTarget {
  path: string;
  /** Auth header(s) to add for this provider. */
  authHeaders: Record<string, string>;
  /** For Azure endpoints addressed by deployment name in the body (e.g. Responses), the model to write instead. */
  bodyModel: string | null;
}

/** Endpoints Azure OpenAI addresses as /openai/deployments/{deployment}/…; the rest live under /openai/…. */
const AZURE_DEPLOYMENT_PATHS = /^\/(chat\/completions|completions|embeddings|images\/|audio\/)/;

/**
 * Maps a normalized client path (`/v1/...`) and query string to the provider's URL path and auth headers.
 * OpenAI and compatible providers: base path + the part after /v1, `Authorization: Bearer`.
 * Azure OpenAI: deployment routing, the `api-version` query parameter and the `api-key` header.
 */
export function upstreamTarget(
  upstream: UpstreamRuntime,
  v1Path: string,
  search: string,
  model: string | null,
  key: string,
): UpstreamTarget {
  const rest = v1Path.slice(3); // drop "/v1"
  const record = upstream.record;
  if (record.provider !== 'azure') {
    return { path: `${upstream.basePath}${rest}${search}`, authHeaders: { authorization: `Bearer ${key}` }, bodyModel: null };
  }
  const params = new URLSearchParams(search);
  if (record.apiVersion) params.set('api-version', record.apiVersion);
  const deployment = model === null ? null : (record.deployments[model] ?? model);
  if (rest === '/realtime') {
    // A Realtime WebSocket names its deployment in the query (`deployment=`), not a model.
    params.delete('model');
    if (deployment !== null) params.set('deployment', deployment);
  }
  const query = params.size > 0 ? `?${params.toString()}` : '';
  if (deployment !== null && AZURE_DEPLOYMENT_PATHS.test(rest)) {
    return {
      path: `${upstream.basePath}/openai/deployments/${encodeURIComponent(deployment)}${rest}${query}`,
      authHeaders: { 'api-key': key },
      bodyModel: null,
    };
  }
  return {
    path: `${upstream.basePath}/openai${rest}${query}`,
    authHeaders: { 'api-key': key },
    bodyModel: deployment !== null && deployment !== model ? deployment : null,
  };
}
