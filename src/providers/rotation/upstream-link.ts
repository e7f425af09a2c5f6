import { z } from 'zod';
import type { MetaRepository } from '../../store/index.js';

/**
 * Which OpenAI service account an upstream's keys belong to, so keywarden can mint its next key and delete the
 * old one. Kept in the store's meta table (one row per upstream): it is provider-side state of an upstream, not
 * something the gateway reads per request, and it needs no schema change.
 */
export interface UpstreamProviderLink {
  provider: 'openai';
  projectId: string;
  serviceAccountId: string;
  /** Rotation period set with `upstreams update --rotation`; null: the config's period for this upstream, if any. */
  rotationMs: number | null;
  /** Old provider keys whose deletion failed after a rotation: retried by the next pass, shown until then. */
  pendingDeletes: string[];
  linkedAt: number;
}

const linkSchema = z.object({
  provider: z.literal('openai'),
  projectId: z.string().min(1).max(200),
  serviceAccountId: z.string().min(1).max(200),
  rotationMs: z.number().int().positive().nullable(),
  pendingDeletes: z.array(z.string().max(200)).max(1000),
  linkedAt: z.number(),
});

const metaName = (upstreamId: string): string => `upstream.provider-link:${upstreamId}`;

export class UpstreamLinks {
  constructor(private readonly meta: MetaRepository) {}

  async get(upstreamId: string): Promise<UpstreamProviderLink | null> {
    const raw = await this.meta.get(metaName(upstreamId));
    if (raw === null || raw === '') return null;
    try {
      const parsed = linkSchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  set(upstreamId: string, link: UpstreamProviderLink): Promise<void> {
    return this.meta.set(metaName(upstreamId), JSON.stringify(link));
  }

  /** The meta table has no delete: an empty value reads as "not linked". */
  clear(upstreamId: string): Promise<void> {
    return this.meta.set(metaName(upstreamId), '');
  }
}

export function linkView(upstreamId: string, link: UpstreamProviderLink | null): Record<string, unknown> {
  return {
    object: 'upstream_provider_link',
    upstream_id: upstreamId,
    linked: link !== null,
    provider: link?.provider ?? null,
    project_id: link?.projectId ?? null,
    service_account_id: link?.serviceAccountId ?? null,
    rotation_ms: link?.rotationMs ?? null,
    pending_deletes: link?.pendingDeletes ?? [],
    linked_at: link ? new Date(link.linkedAt).toISOString() : null,
  };
}
