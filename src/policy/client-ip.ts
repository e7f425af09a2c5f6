import { compileIpAllowlist } from './ip-allowlist.js';

/**
 * Resolves the client IP. X-Forwarded-For is honoured only when the direct peer is a configured trusted proxy;
 * then the rightmost address that is not itself a trusted proxy is the client (addresses further left are
 * client-controlled and could be forged).
 */
export function createClientIpResolver(trustedProxies: readonly string[]): (
  peer: string,
  forwardedFor: string | string[] | undefined,
) => string {
  const trusted = compileIpAllowlist(trustedProxies);
  const anyTrusted = trustedProxies.length > 0;
  const normalize = (ip: string): string => (ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip);
  return (peer, forwardedFor) => {
    const direct = normalize(peer);
    if (!anyTrusted || forwardedFor === undefined || !trusted.allows(direct)) return direct;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
      .split(',')
      .map((hop) => normalize(hop.trim()))
      .filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (!trusted.allows(hop)) return hop;
    }
    return hops[0] ?? direct;
  };
}
