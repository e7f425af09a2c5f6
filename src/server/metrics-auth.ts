import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminTokenService } from '../admin/admin-tokens.js';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Who may read /metrics on the gateway port: `Authorization: Bearer` with any admin token (viewer and up) or the
 * dedicated `metrics.token` from the config, so a Prometheus scraper needs no admin rights. Metrics name keys,
 * models and spend, so they are not public.
 */
export function createMetricsAuthorizer(adminTokens: AdminTokenService, metricsToken: string | undefined): (req: IncomingMessage) => Promise<boolean> {
  const expected = metricsToken ? digest(metricsToken) : null;
  return async (req) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const presented = match?.[1];
    if (!presented) return false;
    // Compared as digests: constant time whatever the lengths.
    if (expected && timingSafeEqual(digest(presented), expected)) return true;
    return (await adminTokens.verify(presented)) !== null;
  };
}
