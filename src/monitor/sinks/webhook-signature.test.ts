import { describe, expect, it } from 'vitest';
import { signatureHeader, verifyWebhookSignature } from './webhook-signature.js';

const secret = 'whsec_0123456789abcdef';
const now = 1_700_000_000_000;
const ts = Math.floor(now / 1000);
const body = '{"type":"keywarden.alert","alert":{"id":"alt_1"}}';

describe('verifyWebhookSignature', () => {
  it('accepts a fresh, correctly signed body', () => {
    expect(verifyWebhookSignature({ secret, body, timestamp: String(ts), signature: signatureHeader(secret, ts, body), now })).toEqual({ ok: true });
  });

  it('rejects a changed body, a wrong secret and a moved timestamp', () => {
    const signature = signatureHeader(secret, ts, body);
    expect(verifyWebhookSignature({ secret, body: body.replace('alt_1', 'alt_2'), timestamp: String(ts), signature, now })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhookSignature({ secret: 'whsec_other_secret_xx', body, timestamp: String(ts), signature, now })).toEqual({ ok: false, reason: 'mismatch' });
    // The timestamp is inside the signed text: shifting it to look fresh breaks the signature.
    expect(verifyWebhookSignature({ secret, body, timestamp: String(ts + 1), signature, now })).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects a replay outside the tolerance window', () => {
    const signature = signatureHeader(secret, ts, body);
    expect(verifyWebhookSignature({ secret, body, timestamp: String(ts), signature, now: now + 5 * 60_000 + 1_000 })).toEqual({ ok: false, reason: 'expired' });
    expect(verifyWebhookSignature({ secret, body, timestamp: String(ts), signature, now: now + 60_000, toleranceMs: 30_000 })).toEqual({ ok: false, reason: 'expired' });
  });

  it('rejects missing or malformed headers and accepts any of several secrets', () => {
    const signature = signatureHeader(secret, ts, body);
    expect(verifyWebhookSignature({ secret, body, timestamp: undefined, signature, now })).toEqual({ ok: false, reason: 'missing' });
    expect(verifyWebhookSignature({ secret, body, timestamp: 'yesterday', signature, now })).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyWebhookSignature({ secret, body, timestamp: String(ts), signature: 'v1=zz', now })).toEqual({ ok: false, reason: 'malformed' });
    expect(
      verifyWebhookSignature({ secret: ['whsec_new_secret_0000', secret], body: Buffer.from(body), timestamp: String(ts), signature: `v0=abc, ${signature}`, now }),
    ).toEqual({ ok: true });
  });
});
