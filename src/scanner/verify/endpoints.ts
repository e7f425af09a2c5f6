import { KeywardenError } from '../../errors/index.js';
import { createOutboundPolicy, normalizeHost, type OutboundPolicy } from '../../policy/outbound-url.js';
import { PROVIDER_IDS, type ProviderId } from '../types.js';
import { envBaseUrlName } from './providers.js';

/** Where a verification endpoint override came from; a repository's config is deliberately not one of them. */
export type OverrideSource = 'command line' | 'environment' | 'user config';

export type VerifyOverrides = Partial<Record<ProviderId, string>>;

/** Parses `--verify-endpoint PROVIDER=URL` values (repeatable). */
export function parseVerifyEndpointFlags(values: readonly string[]): VerifyOverrides {
  const out: VerifyOverrides = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const provider = value.slice(0, eq);
    if (eq <= 0 || !(PROVIDER_IDS as readonly string[]).includes(provider)) {
      throw new KeywardenError('KW_USAGE', { message: `--verify-endpoint takes PROVIDER=URL with PROVIDER one of: ${PROVIDER_IDS.join(', ')}` });
    }
    out[provider as ProviderId] = value.slice(eq + 1);
  }
  return out;
}

/** Command line over environment (KEYWARDEN_VERIFY_URL_*) over the user-level config. */
export function mergeVerifyOverrides(layers: { commandLine: VerifyOverrides; env: NodeJS.ProcessEnv; userConfig: VerifyOverrides }): Map<ProviderId, { url: string; source: OverrideSource }> {
  const merged = new Map<ProviderId, { url: string; source: OverrideSource }>();
  for (const provider of PROVIDER_IDS) {
    const fromEnv = layers.env[envBaseUrlName(provider)];
    const cli = layers.commandLine[provider];
    const user = layers.userConfig[provider];
    if (cli !== undefined) merged.set(provider, { url: cli, source: 'command line' });
    else if (fromEnv !== undefined && fromEnv !== '') merged.set(provider, { url: fromEnv, source: 'environment' });
    else if (user !== undefined) merged.set(provider, { url: user, source: 'user config' });
  }
  return merged;
}

/**
 * The policy verification requests run under. Official endpoints must be public https hosts, checked again at
 * connect time. A host the user named in an override is allowed explicitly (even on loopback: a local proxy is the
 * user's call), but the URL itself must still be http(s) without credentials or fragment.
 */
export function verifyPolicy(overrides: Map<ProviderId, { url: string; source: OverrideSource }>): OutboundPolicy {
  const allow: string[] = [];
  for (const [provider, { url, source }] of overrides) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new KeywardenError('KW_USAGE', { message: `Verification endpoint for ${provider} (${source}) is not a valid URL` });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new KeywardenError('KW_USAGE', { message: `Verification endpoint for ${provider} (${source}) must be http or https` });
    }
    const port = parsed.port === '' ? (parsed.protocol === 'http:' ? 80 : 443) : Number(parsed.port);
    const host = normalizeHost(parsed.hostname);
    allow.push(host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
  }
  const policy = createOutboundPolicy({ allow });
  for (const [provider, { url, source }] of overrides) {
    const verdict = policy.checkUrl(url);
    if (!verdict.ok) throw new KeywardenError('KW_USAGE', { message: `Verification endpoint for ${provider} (${source}): ${verdict.reason}` });
  }
  return policy;
}
