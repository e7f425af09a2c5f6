import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { compileIpAllowlist } from '../policy/ip-allowlist.js';
import { createClientIpResolver } from '../policy/client-ip.js';

/** What the console's auth needs to know about a request: who sent it, over what, from where. */
export interface RequestFacts {
  ip: string;
  userAgent: string;
  /** TLS, or a trusted proxy's `X-Forwarded-Proto: https`. */
  https: boolean;
  /** The console's origin as this server sees it (config `ui.publicUrl`, else scheme + Host). */
  origin: string;
  /** The RP ID for WebAuthn: the console origin's host name. */
  rpId: string;
}

export type RequestFactsReader = (c: Context) => RequestFacts;

/** Built once from the config: trusted proxies and the public URL do not change per request. */
export function createRequestFactsReader(trustedProxies: readonly string[], publicUrl: string | undefined): RequestFactsReader {
  const clientIpOf = createClientIpResolver(trustedProxies);
  const trusted = compileIpAllowlist(trustedProxies);
  const fixed = publicUrl === undefined ? null : new URL(publicUrl);
  return (c) => {
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    const peer = incoming?.socket.remoteAddress ?? '';
    const normalizedPeer = peer.startsWith('::ffff:') && peer.includes('.') ? peer.slice(7) : peer;
    const tls = Boolean((incoming?.socket as { encrypted?: boolean } | undefined)?.encrypted);
    const proxied = trustedProxies.length > 0 && normalizedPeer !== '' && trusted.allows(normalizedPeer);
    const forwardedProto = proxied ? (c.req.header('x-forwarded-proto') ?? '').split(',')[0]?.trim().toLowerCase() : undefined;
    const https = tls || forwardedProto === 'https';
    let origin: string;
    let rpId: string;
    if (fixed) {
      origin = fixed.origin;
      rpId = fixed.hostname;
    } else {
      const host = c.req.header('host') ?? 'localhost';
      origin = `${https ? 'https' : 'http'}://${host}`;
      rpId = safeHostname(origin);
    }
    return {
      ip: peer === '' ? 'unknown' : clientIpOf(peer, incoming?.headers['x-forwarded-for']),
      userAgent: (c.req.header('user-agent') ?? '').slice(0, 256),
      https,
      origin,
      rpId,
    };
  };
}

function safeHostname(origin: string): string {
  try {
    return new URL(origin).hostname;
  } catch {
    return 'localhost';
  }
}
