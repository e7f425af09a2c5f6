import { createHash, verify } from 'node:crypto';
import { z } from 'zod';
import type { KeyService } from '../../admin/key-service.js';
import type { PartnerKeyCache } from './partner-keys.js';

/** GitHub's partner payload: `[{token, type, url, source}]` (extra fields tolerated, as GitHub may add some). */
const reportSchema = z
  .array(
    z.object({
      token: z.string().min(1).max(2_000),
      type: z.string().min(1).max(200),
      url: z.string().max(2_000).optional(),
      source: z.string().max(100).optional(),
    }),
  )
  .min(1)
  .max(1_000);

export interface PartnerAnswer {
  status: number;
  body: unknown;
}

export interface PartnerLabel {
  token_hash: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
}

const REPLAY_MEMORY = 1_000;
const ACTOR = 'system:github-secret-scanning';

const openAIError = (message: string, code: string, type = 'invalid_request_error'): unknown => ({ error: { message, type, param: null, code } });

/**
 * GitHub secret-scanning partner receiver for keywarden's own `kw_` keys. The raw body must carry a valid ECDSA
 * P-256 / SHA-256 signature by one of GitHub's published keys, or nothing happens (401). Each leaked key of this
 * gateway is revoked (audited) and labelled true_positive; anything else is false_positive. The answer names
 * tokens by their SHA-256 (GitHub's `token_hash`), so the secret is never sent back. A replayed delivery gets
 * the same answer and changes nothing more: revocation is idempotent and recent bodies are remembered.
 */
export class GitHubPartnerReceiver {
  private readonly answered = new Map<string, PartnerLabel[]>();

  constructor(
    private readonly keys: KeyService,
    private readonly partnerKeys: PartnerKeyCache,
  ) {}

  async handle(body: Buffer, keyId: string | undefined, signature: string | undefined): Promise<PartnerAnswer> {
    if (!keyId || !signature || keyId.length > 200 || signature.length > 1_000) {
      return { status: 401, body: openAIError('Missing or malformed GitHub signature headers.', 'invalid_signature') };
    }
    const pem = await this.partnerKeys.get(keyId);
    if (pem === null || !verifySignature(body, pem, signature)) {
      return { status: 401, body: openAIError('The GitHub signature does not verify.', 'invalid_signature') };
    }
    const digest = createHash('sha256').update(body).digest('hex');
    const remembered = this.answered.get(digest);
    if (remembered) return { status: 200, body: remembered };

    let parsed: z.output<typeof reportSchema>;
    try {
      const result = reportSchema.safeParse(JSON.parse(body.toString('utf8')));
      if (!result.success) return { status: 400, body: openAIError('The report is not a list of {token, type, url, source}.', 'validation_failed') };
      parsed = result.data;
    } catch {
      return { status: 400, body: openAIError('The report is not valid JSON.', 'invalid_json') };
    }
    const labels: PartnerLabel[] = [];
    for (const item of parsed) {
      const found = item.token.startsWith('kw_') ? await this.keys.reportLeak(item.token, `github: ${item.url ?? item.source ?? 'public content'}`, true, ACTOR) : null;
      labels.push({ token_hash: createHash('sha256').update(item.token).digest('hex'), token_type: item.type, label: found ? 'true_positive' : 'false_positive' });
    }
    this.answered.set(digest, labels);
    if (this.answered.size > REPLAY_MEMORY) this.answered.delete(this.answered.keys().next().value as string);
    return { status: 200, body: labels };
  }
}

function verifySignature(body: Buffer, pem: string, signatureB64: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64)) return false;
  try {
    return verify('sha256', body, { key: pem, dsaEncoding: 'der' }, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}
