// Ownership cannot be dodged by spelling the path differently (percent-encoding, trailing slash, case, dot
// segments, double slashes) or by methods the API does not have, and it survives a gateway restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../gateway/raw-http.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { expectGatewayNotFound, twoKeys, type TwoKeys } from './ownership-helpers.js';

let h: Harness;
let k: TwoKeys;
let responseId: string;
let fileId: string;

beforeAll(async () => {
  h = await startHarness();
  k = await twoKeys(h);
  responseId = (await k.a.responses.create({ model: 'gpt-4o-mini', input: 'a private thought' })).id;
  const { default: OpenAI } = await import('openai');
  fileId = (await k.a.files.create({ file: await OpenAI.toFile(Buffer.from('{}\n'), 'a.jsonl'), purpose: 'batch' })).id;
});
afterAll(() => h.close());

/** Percent-encodes every character of an id (`resp_1` → `%72%65%73%70%5F%31`). */
const encodeAll = (id: string): string => [...Buffer.from(id)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** Sends a request line exactly as written (fetch and the SDK would normalize dot segments first). */
async function raw(method: string, target: string, secret: string): Promise<{ status: number; body: string }> {
  const before = h.fake.requestCount;
  const answer = await rawRequest(
    h.server.url,
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${secret}\r\nConnection: close\r\n\r\n`,
  );
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  if (status === 404 || status === 400) expect(h.fake.requestCount).toBe(before); // refused at the gateway
  return { status, body };
}

describe('path spellings', () => {
  it('every spelling of A\'s object path is refused for B and still works for A where it is the same path', async () => {
    const spellings = [
      `/v1/responses/${encodeAll(responseId)}`,
      `/v1/responses/${responseId}/`,
      `/v1/Responses/${responseId}`,
      `/v1/RESPONSES/${responseId}/input_items`,
      `/v1/files/../responses/${responseId}`,
      `/v1/responses/x/../${responseId}`,
      `/v1/responses/./${responseId}`,
      `//v1//responses//${responseId}`,
      `/v1/responses%2F${responseId}`,
      `/v1/files/%2E%2E/responses/${responseId}`,
      `/v1/responses/${responseId}?x=/../../files`,
    ];
    for (const path of spellings) {
      const b = await raw('GET', path, k.bSecret);
      expect({ path, status: b.status }).toEqual({ path, status: 404 });
      expect(JSON.parse(b.body)).toMatchObject({ error: { code: 'not_found', type: 'invalid_request_error' } });
    }
    // The same spellings resolve to A's own object for A (normalization happened before the check).
    for (const path of [`/v1/responses/${encodeAll(responseId)}`, `/v1/responses/x/../${responseId}`, `/v1/responses/${responseId}/`]) {
      expect((await raw('GET', path, k.aSecret)).status).toBe(200);
    }
  });

  it('a case-changed or double-encoded id is a different, unknown id even for its owner', async () => {
    expect((await raw('GET', `/v1/responses/${responseId.toUpperCase()}`, k.aSecret)).status).toBe(404);
    expect((await raw('GET', `/v1/files/${fileId.replace('file-', 'FILE-')}`, k.aSecret)).status).toBe(404);
    // Double encoding is refused by the normalizer before anything else.
    expect((await raw('GET', `/v1/responses/%2572esp`, k.aSecret)).status).toBe(400);
  });

  it('methods and sub-paths the API does not define on owned collections are refused, not forwarded', async () => {
    expect((await raw('DELETE', '/v1/files', k.bSecret)).status).toBe(404);
    expect((await raw('GET', '/v1/responses', k.bSecret)).status).toBe(404); // no list of responses exists
    expect((await raw('GET', '/v1/fine_tuning/checkpoints/ft:x:ckpt-step-1/permissions', k.bSecret)).status).toBe(404);
    expect((await raw('GET', `/v1/files/${'x'.repeat(5000)}`, k.bSecret)).status).toBe(404);
  });

  it('method-override headers never reach the upstream (the method checked is the method run)', async () => {
    for (const header of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
      await k.b.files.list({}, { headers: { [header]: 'DELETE' } });
      const seen = h.fake.lastRequest();
      expect(seen?.route).toBe('/files');
      expect(seen?.rawHeaders.map((name) => name.toLowerCase())).not.toContain(header.toLowerCase());
    }
  });

  it('a flood of ids or a deeply nested body is refused before any lookup reaches the upstream', async () => {
    const before = h.fake.requestCount;
    const flood = Array.from({ length: 10_000 }, (_, i) => `file-${i}`);
    const tooMany = await fetch(`${h.server.url}/v1/vector_stores`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.bSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', file_ids: flood }),
    });
    expect(tooMany.status).toBe(400);
    const deep = `{"model":"gpt-4o-mini","input":${'['.repeat(5000)}{"type":"input_file","file_id":"${fileId}"}${']'.repeat(5000)}}`;
    const nested = await fetch(`${h.server.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.bSecret}`, 'content-type': 'application/json' },
      body: deep,
    });
    expect(nested.status).toBe(404); // A's file, found at depth 5,000
    expect(h.fake.requestCount).toBe(before);
  });

  it('B gets the same answer for A\'s id as for an id that never existed', async () => {
    const unknown = `${responseId.slice(0, -4)}0000`;
    const foreign = await expectGatewayNotFound(h, () => k.b.responses.retrieve(responseId), responseId);
    expect(await expectGatewayNotFound(h, () => k.b.responses.retrieve(unknown), unknown)).toBe(foreign);
    const foreignFile = await expectGatewayNotFound(h, () => k.b.files.retrieve(fileId), fileId);
    expect(await expectGatewayNotFound(h, () => k.a.files.retrieve('file-doesnotexist'), 'file-doesnotexist')).toBe(foreignFile);
  });
});

describe('durability', () => {
  it('ownership survives a gateway restart (it is in the store, not only in memory)', async () => {
    await h.restart();
    const a = h.client(k.aSecret);
    const b = h.client(k.bSecret);
    expect((await a.responses.retrieve(responseId)).id).toBe(responseId);
    expect((await a.files.retrieve(fileId)).id).toBe(fileId);
    await expectGatewayNotFound(h, () => b.responses.retrieve(responseId));
    await expectGatewayNotFound(h, () => b.files.retrieve(fileId));
  });
});
