import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';

interface PartnerKey {
  id: string;
  privateKey: KeyObject;
  pem: string;
}

function partnerKey(id: string): PartnerKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { id, privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

let h: Harness;
let keysServer: Server;
let keysFetches = 0;
const current = partnerKey('f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d');
const rotatedIn = partnerKey('90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a');
const published: PartnerKey[] = [current];

beforeAll(async () => {
  // GitHub's /meta/public_keys/secret_scanning, served locally.
  keysServer = createServer((_req, res) => {
    keysFetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ public_keys: published.map((k) => ({ key_identifier: k.id, key: k.pem, is_current: true })) }));
  });
  await new Promise<void>((resolve) => keysServer.listen(0, '127.0.0.1', resolve));
  const keysUrl = `http://127.0.0.1:${(keysServer.address() as AddressInfo).port}/meta/public_keys/secret_scanning`;
  h = await startHarness({ config: { providers: { github: { partnerKeysUrl: keysUrl } } } });
});
afterAll(async () => {
  await h.close();
  keysServer.closeAllConnections();
  await new Promise<void>((resolve) => keysServer.close(() => resolve()));
});

async function deliver(body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${h.server.url}/leaks/github`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: await res.json() };
}

function signed(body: string, key: PartnerKey = current): Record<string, string> {
  return { 'Github-Public-Key-Identifier': key.id, 'Github-Public-Key-Signature': sign('sha256', Buffer.from(body), key.privateKey).toString('base64') };
}

async function keyWorks(key: string): Promise<boolean> {
  try {
    await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    return true;
  } catch {
    return false;
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function revocations(keyId: string): Promise<number> {
  const audit = await h.admin<{ data: Array<{ action: string; target: string }> }>('GET', '/audit?limit=5000');
  return audit.body.data.filter((e) => e.action === 'key.revoked' && e.target === `key:${keyId}`).length;
}

describe('GitHub secret-scanning partner receiver', () => {
  it('a valid signed report revokes the kw_ key and labels it true_positive (by hash), other tokens false_positive', async () => {
    const { id, key } = await h.createKey({ name: 'pushed to GitHub' });
    const unknownKw = `kw_${'a'.repeat(40)}`;
    const body = JSON.stringify([
      { token: key, type: 'keywarden_virtual_key', url: 'https://github.com/octo/app/blob/abc/.env', source: 'content' },
      { token: unknownKw, type: 'keywarden_virtual_key', url: 'https://github.com/octo/app/blob/abc/x', source: 'content' },
    ]);
    const res = await deliver(body, signed(body));
    expect(res.status).toBe(200);
    expect(res.json).toEqual([
      { token_hash: sha256(key), token_type: 'keywarden_virtual_key', label: 'true_positive' },
      { token_hash: sha256(unknownKw), token_type: 'keywarden_virtual_key', label: 'false_positive' },
    ]);
    expect(JSON.stringify(res.json)).not.toContain(key);
    expect(await keyWorks(key)).toBe(false);
    expect(await revocations(id)).toBe(1);

    // Replayed: the same answer, and nothing more happens.
    const again = await deliver(body, signed(body));
    expect(again.status).toBe(200);
    expect(again.json).toEqual(res.json);
    expect(await revocations(id)).toBe(1);
  });

  it('a bad signature, a signature over another body, or an unknown key id gets 401 and changes nothing', async () => {
    const { id, key } = await h.createKey({ name: 'target' });
    const body = JSON.stringify([{ token: key, type: 'keywarden_virtual_key', url: 'https://github.com/x/y', source: 'content' }]);
    const other = partnerKey(current.id); // right id, wrong private key
    const attempts: Array<Record<string, string>> = [
      {},
      { 'Github-Public-Key-Identifier': current.id },
      { 'Github-Public-Key-Identifier': current.id, 'Github-Public-Key-Signature': 'not base64!!' },
      signed(body, other),
      signed(`${body} `),
      { ...signed(body), 'Github-Public-Key-Identifier': 'unknown-key-id' },
      { 'Github-Public-Key-Identifier': current.id, 'Github-Public-Key-Signature': 'A'.repeat(2000) },
    ];
    for (const headers of attempts) {
      const res = await deliver(body, headers);
      expect(res.status).toBe(401);
    }
    expect(await keyWorks(key)).toBe(true);
    expect(await revocations(id)).toBe(0);
  });

  it('forged key ids cannot make keywarden hammer the keys URL', async () => {
    const before = keysFetches;
    const body = '[]';
    for (let i = 0; i < 20; i++) await deliver(body, { ...signed(body), 'Github-Public-Key-Identifier': `forged-${i}` });
    expect(keysFetches - before).toBeLessThanOrEqual(1);
  });

  it('a correctly signed but malformed payload gets 400 and changes nothing', async () => {
    const { id, key } = await h.createKey({ name: 'malformed' });
    const bodies = [
      `[{"token":"${key}"`,
      JSON.stringify({ token: key, type: 't' }),
      JSON.stringify([]),
      JSON.stringify([{ token: key }]),
      JSON.stringify([{ token: 5, type: 't' }]),
      JSON.stringify(Array.from({ length: 1001 }, () => ({ token: 'x', type: 't' }))),
      `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
    ];
    for (const body of bodies) {
      const res = await deliver(body, signed(body));
      expect(res.status).toBe(400);
    }
    expect(await keyWorks(key)).toBe(true);
    expect(await revocations(id)).toBe(0);
  });

  it('refuses an oversized body before verifying anything', async () => {
    const body = JSON.stringify([{ token: 'x'.repeat(1_100_000), type: 't' }]);
    const res = await deliver(body, signed(body));
    expect(res.status).toBe(413);
  });

  it('accepts a key GitHub rotated in after start-up (refetch on an unknown id)', async () => {
    published.push(rotatedIn);
    const { key } = await h.createKey({ name: 'rotated' });
    const body = JSON.stringify([{ token: key, type: 'keywarden_virtual_key', url: 'https://github.com/x/z', source: 'content' }]);
    // The refetch is rate limited (10 s); move the gateway's clock past it.
    h.clock.advance(11_000);
    const res = await deliver(body, signed(body, rotatedIn));
    expect(res.status).toBe(200);
    expect((res.json as Array<{ label: string }>)[0]?.label).toBe('true_positive');
  });
});
