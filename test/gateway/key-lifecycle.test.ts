import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { generateVirtualKey } from '../../src/keys/index.js';
import { apiErrorOf } from '../support/api-error.js';
import type { Harness } from '../support/gateway-harness.js';
import { describeEachStoreBackend } from '../support/store-backends.js';

let h: Harness;

const chat = (client: OpenAI): Promise<unknown> =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

async function expectApiError(promise: Promise<unknown>, cls: abstract new (...args: never[]) => Error, code: string): Promise<void> {
  const err = await apiErrorOf(promise);
  expect(err).toBeInstanceOf(cls);
  expect(err.code).toBe(code);
}

describeEachStoreBackend((harness) => (h = harness), () => {
describe('virtual key lifecycle', () => {
  it('shows the secret once, stores only its hash, and lists it masked', async () => {
    const { id, key } = await h.createKey({ name: 'shown-once' });
    expect(key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
    const shown = await h.admin<Record<string, unknown>>('GET', `/keys/${id}`);
    expect(shown.body.display).toBe(`kw_…${key.slice(-4)}`);
    expect(JSON.stringify(shown.body)).not.toContain(key);
    expect(JSON.stringify((await h.admin('GET', '/keys')).body)).not.toContain(key);
  });

  it('revocation takes effect on the very next request', async () => {
    const { id, key } = await h.createKey();
    const client = h.client(key);
    await chat(client);
    expect((await h.admin('POST', `/keys/${id}/revoke`, {})).status).toBe(200);
    await expectApiError(chat(client), OpenAI.AuthenticationError, 'key_revoked');
    expect((await h.admin<{ status: string }>('GET', `/keys/${id}`)).body.status).toBe('revoked');
  });

  it('rotation with no grace stops the old secret at once', async () => {
    const { id, key } = await h.createKey();
    const rotated = await h.admin<{ key: string; id: string }>('POST', `/keys/${id}/rotate`, {});
    expect(rotated.body.id).toBe(id);
    expect(rotated.body.key).not.toBe(key);
    await expectApiError(chat(h.client(key)), OpenAI.AuthenticationError, 'invalid_api_key');
    await chat(h.client(rotated.body.key));
  });

  it('rotation with a grace period keeps the old secret working until it ends', async () => {
    const { id, key } = await h.createKey();
    const rotated = await h.admin<{ key: string; previous_secret_valid_until: string }>('POST', `/keys/${id}/rotate`, { grace: '1h' });
    expect(rotated.body.previous_secret_valid_until).not.toBeNull();
    await chat(h.client(key));
    await chat(h.client(rotated.body.key));
    h.clock.advance(60 * 60 * 1000 + 1);
    await expectApiError(chat(h.client(key)), OpenAI.AuthenticationError, 'invalid_api_key');
    await chat(h.client(rotated.body.key));
  });

  it('expires at expires_at', async () => {
    const { id, key } = await h.createKey({ expires: '2h' });
    await chat(h.client(key));
    h.clock.advance(2 * 60 * 60 * 1000);
    await expectApiError(chat(h.client(key)), OpenAI.AuthenticationError, 'key_expired');
    expect((await h.admin<{ status: string }>('GET', `/keys/${id}`)).body.status).toBe('expired');
  });

  it('updates scopes, which apply to the next request', async () => {
    const { id, key } = await h.createKey();
    await chat(h.client(key));
    const updated = await h.admin<{ models: string[] }>('PATCH', `/keys/${id}`, { models: ['gpt-4.1*'] });
    expect(updated.body.models).toEqual(['gpt-4.1*']);
    await expectApiError(chat(h.client(key)), OpenAI.PermissionDeniedError, 'model_not_allowed');
  });

  it('rejects made-up and mistyped keys without a database lookup, as invalid_api_key', async () => {
    const { key } = await h.createKey();
    // Observe the store the gateway uses: every key lookup goes through keys.findByHash, or findByHashNow where the
    // store can answer synchronously.
    const keys = h.server.services.store.keys;
    const findByHash = keys.findByHash.bind(keys);
    const findByHashNow = keys.findByHashNow?.bind(keys);
    let lookups = 0;
    keys.findByHash = (hash) => {
      lookups++;
      return findByHash(hash);
    };
    if (findByHashNow) {
      keys.findByHashNow = (hash) => {
        const answer = findByHashNow(hash);
        if (answer !== undefined) lookups++; // undefined: the caller goes on to findByHash, counted there
        return answer;
      };
    }
    try {
      // Control: a real key and a well-formed unknown key (valid checksum) are looked up, so the counter sees lookups.
      await chat(h.client(key));
      expect(lookups).toBe(1);
      await expectApiError(chat(h.client(generateVirtualKey())), OpenAI.AuthenticationError, 'invalid_api_key');
      expect(lookups).toBe(2);

      const typo = `${key.slice(0, 10)}${key[10] === 'a' ? 'b' : 'a'}${key.slice(11)}`;
      const invented = `kw_${'A'.repeat(38)}`;
      const swapped = `${key.slice(0, -2)}${key.slice(-1)}${key.slice(-2, -1)}`;
      for (const bad of [typo, invented, swapped, 'sk-proj-not-a-virtual-key', `${key}x`]) {
        if (bad === key) continue;
        await expectApiError(chat(h.client(bad)), OpenAI.AuthenticationError, 'invalid_api_key');
      }
      expect(lookups).toBe(2);
    } finally {
      keys.findByHash = findByHash;
    }
  });

  it('records a leak report with the masked secret and revokes the leaked key', async () => {
    const { id, key } = await h.createKey({ name: 'leaky' });
    const report = await h.admin<{ found: boolean; key_id: string; revoked: boolean }>('POST', '/keys/report-leak', {
      key,
      source: 'github.com/acme/app/blob/abc123/.env#L3',
    });
    expect(report.body).toMatchObject({ found: true, key_id: id, revoked: true });
    await expectApiError(chat(h.client(key)), OpenAI.AuthenticationError, 'key_revoked');
    const audit = await h.admin<{ data: Array<{ action: string; target: string; after: unknown }> }>('GET', '/audit?limit=5000');
    const entry = audit.body.data.find((e) => e.action === 'security.leak_reported' && e.target === `key:${id}`);
    expect(JSON.stringify(entry?.after)).toContain(`kw_…${key.slice(-4)}`);
    expect(JSON.stringify(audit.body)).not.toContain(key);
    const unknown = await h.admin<{ found: boolean }>('POST', '/keys/report-leak', { key: `kw_${'A'.repeat(38)}`, source: 'x' });
    expect(unknown.body.found).toBe(false);
  });

  it('validates admin input and reports every problem', async () => {
    const res = await h.admin<{ error: { code: string; message: string } }>('POST', '/keys', {
      name: '',
      endpoints: ['Chat!'],
      ip_allowlist: ['10.0.0.0/99'],
      expires: 'whenever',
      bogus: 1,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    for (const field of ['name', 'endpoints', 'ip_allowlist', 'expires', 'bogus']) expect(res.body.error.message).toContain(field);
  });

  it('refuses admin calls without a valid admin token', async () => {
    const res = await fetch(`${h.server.url}/admin/v1/keys`, { headers: { authorization: 'Bearer kwadm_wrong' } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_admin_token');
  });
});
});
