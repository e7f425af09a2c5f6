// Object ownership for videos (create, content, remix, list, delete) and evals (runs, their file sources), and the
// routes the gateway refuses because it cannot check what they name: video edits, extensions and characters, and
// eval runs over the organisation's stored completions or responses.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { collectIds, expectGatewayNotFound, twoKeys, type TwoKeys } from './ownership-helpers.js';

let h: Harness;
let k: TwoKeys;
const jsonl = (name: string) => OpenAI.toFile(Buffer.from('{"item":{"q":"1+1","a":"2"}}\n'), name);

beforeAll(async () => {
  h = await startHarness();
  k = await twoKeys(h);
});
afterAll(() => h.close());

/** The gateway answers with `status` and this code, and the upstream never sees the request. */
async function expectRefused(call: () => Promise<unknown>, status: number, code: string): Promise<string> {
  const before = h.fake.requestCount;
  const err = await apiErrorOf(call());
  expect(err.status).toBe(status);
  expect(err.code).toBe(code);
  expect(h.fake.requestCount).toBe(before);
  return err.message;
}

describe('videos', () => {
  it("B cannot retrieve, download, delete or remix A's video, and lists show each key its own", async () => {
    const mine = await k.a.videos.create({ prompt: 'a red balloon over Tokyo', model: 'sora-2' });
    const theirs = await k.b.videos.create({ prompt: 'a blue kite', model: 'sora-2' });
    expect(mine.id).toMatch(/^video_/);
    await expectGatewayNotFound(h, () => k.b.videos.retrieve(mine.id));
    await expectGatewayNotFound(h, () => k.b.videos.downloadContent(mine.id));
    await expectGatewayNotFound(h, () => k.b.videos.remix(mine.id, { prompt: 'now in the rain' }));
    await expectGatewayNotFound(h, () => k.b.videos.delete(mine.id));
    const listB = await collectIds(k.b.videos.list());
    expect(listB).toContain(theirs.id);
    expect(listB).not.toContain(mine.id);
    expect(await collectIds(k.a.videos.list())).toContain(mine.id);
    expect(await (await k.a.videos.downloadContent(mine.id)).text()).toBe(`mp4:${mine.id}`);
    expect((await k.a.videos.retrieve(mine.id)).id).toBe(mine.id);
  });

  it('a remix belongs to the key that made it, not to every key', async () => {
    const source = await k.a.videos.create({ prompt: 'a lighthouse', model: 'sora-2' });
    const remix = await k.a.videos.remix(source.id, { prompt: 'at night' });
    expect(remix.id).not.toBe(source.id);
    expect(remix.remixed_from_video_id).toBe(source.id);
    expect((await k.a.videos.retrieve(remix.id)).id).toBe(remix.id);
    expect(await collectIds(k.a.videos.list())).toContain(remix.id);
    await expectGatewayNotFound(h, () => k.b.videos.retrieve(remix.id));
    await expectGatewayNotFound(h, () => k.b.videos.downloadContent(remix.id));
    expect(await collectIds(k.b.videos.list())).not.toContain(remix.id);
    // The remix can be remixed again by its owner: it was recorded, not only relayed.
    expect((await k.a.videos.remix(remix.id, { prompt: 'in winter' })).remixed_from_video_id).toBe(remix.id);
  });

  it('refuses edits, extensions and characters, whose multipart bodies name videos the gateway does not check', async () => {
    const mine = await k.a.videos.create({ prompt: 'a garden', model: 'sora-2' });
    // B naming A's video as the source of an edit or an extension: refused before anything reaches the upstream.
    const edit = await expectRefused(() => k.b.videos.edit({ prompt: 'recolour', video: { id: mine.id } }), 404, 'not_found');
    expect(edit).toContain('/v1/videos/edits is not supported through this gateway');
    await expectRefused(() => k.b.videos.extend({ prompt: 'longer', seconds: '4', video: { id: mine.id } }), 404, 'not_found');
    // The owner is refused too: the refusal does not depend on whose video is named.
    await expectRefused(() => k.a.videos.edit({ prompt: 'recolour', video: { id: mine.id } }), 404, 'not_found');
    await expectRefused(() => k.a.videos.getCharacter('char_1'), 404, 'not_found');
    const clip = await OpenAI.toFile(Buffer.from('mp4'), 'hero.mp4');
    await expectRefused(() => k.a.videos.createCharacter({ name: 'hero', video: clip }), 404, 'not_found');
    // Another spelling of the same route is the same route.
    const raw = await fetch(`${h.server.url}/v1/Videos/EDITS`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.aSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x', video: { id: mine.id } }),
    });
    expect(raw.status).toBe(404);
  });
});

describe('evals', () => {
  const createEval = (client: OpenAI, name: string) =>
    client.evals.create({
      name,
      data_source_config: { type: 'custom', item_schema: { type: 'object', properties: { q: { type: 'string' }, a: { type: 'string' } } } },
      testing_criteria: [{ type: 'string_check', name: 'exact', input: '{{sample.output_text}}', reference: '{{item.a}}', operation: 'eq' }],
    });

  it("B cannot read, update, delete, list or run A's eval, nor read its runs", async () => {
    const mine = await createEval(k.a, 'a-eval');
    const theirs = await createEval(k.b, 'b-eval');
    const file = await k.a.files.create({ file: await jsonl('items.jsonl'), purpose: 'evals' });
    const run = await k.a.evals.runs.create(mine.id, { data_source: { type: 'jsonl', source: { type: 'file_id', id: file.id } } });
    expect(run.eval_id).toBe(mine.id);
    await expectGatewayNotFound(h, () => k.b.evals.retrieve(mine.id));
    await expectGatewayNotFound(h, () => k.b.evals.update(mine.id, { name: 'mine now' }));
    await expectGatewayNotFound(h, () => k.b.evals.delete(mine.id));
    await expectGatewayNotFound(h, () => k.b.evals.runs.list(mine.id));
    await expectGatewayNotFound(h, () => k.b.evals.runs.retrieve(run.id, { eval_id: mine.id }));
    await expectGatewayNotFound(h, () =>
      k.b.evals.runs.create(mine.id, { data_source: { type: 'jsonl', source: { type: 'file_content', content: [{ item: { q: 'x' } }] } } }),
    );
    const listB = await collectIds(k.b.evals.list());
    expect(listB).toContain(theirs.id);
    expect(listB).not.toContain(mine.id);
    expect(await collectIds(k.a.evals.list())).toContain(mine.id);
    expect(await collectIds(k.a.evals.runs.list(mine.id))).toEqual([run.id]);
    expect((await k.a.evals.runs.retrieve(run.id, { eval_id: mine.id })).id).toBe(run.id);
  });

  it("B cannot run its own eval over A's file", async () => {
    const own = await createEval(k.b, 'b-eval-2');
    const file = await k.a.files.create({ file: await jsonl('secret.jsonl'), purpose: 'evals' });
    const message = await expectGatewayNotFound(
      h,
      () => k.b.evals.runs.create(own.id, { data_source: { type: 'jsonl', source: { type: 'file_id', id: file.id } } }),
      file.id,
    );
    // The same answer as for a file that does not exist: no oracle for A's ids.
    const unknown = 'file-doesnotexist0000000000';
    expect(message).toBe(
      await expectGatewayNotFound(h, () => k.b.evals.runs.create(own.id, { data_source: { type: 'jsonl', source: { type: 'file_id', id: unknown } } }), unknown),
    );
  });

  it("refuses runs over the organisation's stored completions or responses, which every key's traffic fills", async () => {
    const own = await createEval(k.a, 'a-eval-logs');
    const stored = await expectRefused(
      () =>
        k.a.evals.runs.create(own.id, {
          data_source: { type: 'completions', model: 'gpt-4o-mini', source: { type: 'stored_completions', metadata: { app: 'b' } } },
        }),
      400,
      'invalid_request',
    );
    expect(stored).toContain('stored completions');
    const responses = await expectRefused(
      () => k.a.evals.runs.create(own.id, { data_source: { type: 'responses', source: { type: 'responses', model: 'gpt-4o-mini' } } }),
      400,
      'invalid_request',
    );
    expect(responses).toContain('stored responses');
    // Nested deeper than the API puts it, or sent to the eval itself: still found.
    await expectRefused(() => k.a.evals.update(own.id, { metadata: { x: 'y' }, ...{ extra: [{ source: { type: 'responses' } }] } }), 400, 'invalid_request');
  });
});
