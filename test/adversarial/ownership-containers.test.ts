// Object ownership for code interpreter containers: created directly or started by a Responses call (stored or
// not, streamed or not), named by `container: "cntr_…"` in a code interpreter tool or by `container_id` in replayed
// output, and the files inside them. A container file citation's `file_id` is the container's file, not one of the
// organisation's files, so replaying an answer that cites one is not refused.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { collectIds, expectGatewayNotFound, twoKeys, type TwoKeys } from './ownership-helpers.js';

let h: Harness;
let k: TwoKeys;
const MODEL = 'gpt-4o-mini';
const csv = (name: string) => OpenAI.toFile(Buffer.from('a,b\n1,2\n'), name);
const autoContainer = { type: 'code_interpreter' as const, container: { type: 'auto' as const } };

beforeAll(async () => {
  h = await startHarness();
  k = await twoKeys(h);
});
afterAll(() => h.close());

/** The container and the cited file of a Responses answer that ran code. */
function containerOf(response: OpenAI.Responses.Response): { containerId: string; fileId: string } {
  const call = response.output.find((item) => item.type === 'code_interpreter_call');
  const message = response.output.find((item) => item.type === 'message');
  const part = message?.type === 'message' ? message.content[0] : undefined;
  const citation = part?.type === 'output_text' ? part.annotations.find((a) => a.type === 'container_file_citation') : undefined;
  if (call?.type !== 'code_interpreter_call' || citation?.type !== 'container_file_citation') throw new Error('no code interpreter output');
  return { containerId: call.container_id, fileId: citation.file_id };
}

async function streamed(client: OpenAI, body: OpenAI.Responses.ResponseCreateParamsStreaming): Promise<OpenAI.Responses.Response> {
  let done: OpenAI.Responses.Response | undefined;
  for await (const event of await client.responses.create(body)) if (event.type === 'response.completed') done = event.response;
  if (!done) throw new Error('stream ended without response.completed');
  return done;
}

describe('containers', () => {
  it("B cannot retrieve, delete, list or use A's container, nor its files", async () => {
    const mine = await k.a.containers.create({ name: 'a-box' });
    const theirs = await k.b.containers.create({ name: 'b-box' });
    expect(mine.id).toMatch(/^cntr_/);
    const file = await k.a.containers.files.create(mine.id, { file: await csv('data.csv') });
    await expectGatewayNotFound(h, () => k.b.containers.retrieve(mine.id));
    await expectGatewayNotFound(h, () => k.b.containers.files.list(mine.id));
    await expectGatewayNotFound(h, () => k.b.containers.files.retrieve(file.id, { container_id: mine.id }));
    await expectGatewayNotFound(h, () => k.b.containers.files.content.retrieve(file.id, { container_id: mine.id }));
    await expectGatewayNotFound(h, () => k.b.containers.files.delete(file.id, { container_id: mine.id }));
    const planted = await csv('planted.csv');
    await expectGatewayNotFound(h, () => k.b.containers.files.create(mine.id, { file: planted }));
    await expectGatewayNotFound(h, () => k.b.containers.delete(mine.id));
    // Running code in A's container through a Responses call: the tool names it, and B is refused.
    await expectGatewayNotFound(h, () => k.b.responses.create({ model: MODEL, input: 'ls /mnt/data', tools: [{ type: 'code_interpreter', container: mine.id }] }), mine.id);
    const listB = await collectIds(k.b.containers.list());
    expect(listB).toContain(theirs.id);
    expect(listB).not.toContain(mine.id);
    expect(await collectIds(k.a.containers.list())).toContain(mine.id);
    expect(await (await k.a.containers.files.content.retrieve(file.id, { container_id: mine.id })).text()).toBe(`cfile:${file.id}`);
    const own = await k.a.responses.create({ model: MODEL, input: 'ls', tools: [{ type: 'code_interpreter', container: mine.id }] });
    expect(containerOf(own).containerId).toBe(mine.id);
  });

  it("B cannot copy A's file into its own container", async () => {
    const secret = await k.a.files.create({ file: await csv('secret.csv'), purpose: 'user_data' });
    const box = await k.b.containers.create({ name: 'b-copy' });
    await expectGatewayNotFound(h, () => k.b.containers.files.create(box.id, { file_id: secret.id }));
    await expectGatewayNotFound(h, () => k.b.containers.create({ name: 'b-seeded', file_ids: [secret.id] }));
    expect((await k.a.containers.files.create((await k.a.containers.create({ name: 'a-copy' })).id, { file_id: secret.id })).path).toBe('/mnt/data/secret.csv');
  });

  for (const mode of ['stored', 'store: false', 'streamed', 'streamed, store: false'] as const) {
    it(`a container a Responses call starts (${mode}) is the caller's, and so are the files it cites`, async () => {
      const body = { model: MODEL, input: 'plot 2 + 2', tools: [autoContainer], ...(mode.includes('store: false') ? { store: false } : {}) };
      const response = mode.startsWith('streamed') ? await streamed(k.a, { ...body, stream: true }) : await k.a.responses.create(body);
      const { containerId, fileId } = containerOf(response);
      expect(fileId).toMatch(/^cfile_/);
      // The caller reaches its container and the file the code wrote, at once.
      expect(await (await k.a.containers.files.content.retrieve(fileId, { container_id: containerId })).text()).toBe(`cfile:${fileId}`);
      expect(await collectIds(k.a.containers.list())).toContain(containerId);
      // Nobody else does.
      await expectGatewayNotFound(h, () => k.b.containers.files.content.retrieve(fileId, { container_id: containerId }));
      await expectGatewayNotFound(h, () => k.b.responses.create({ model: MODEL, input: 'again', tools: [{ type: 'code_interpreter', container: containerId }] }));
      expect(await collectIds(k.b.containers.list())).not.toContain(containerId);
    });
  }

  for (const streamedCall of [false, true]) {
    it(`a container a shell tool starts (${streamedCall ? 'streamed' : 'not streamed'}) is the caller's, and a container_reference to it is checked`, async () => {
      const body = { model: MODEL, input: 'list the files', tools: [{ type: 'shell' as const, environment: { type: 'container_auto' as const } }], store: false };
      const response = streamedCall ? await streamed(k.a, { ...body, stream: true }) : await k.a.responses.create(body);
      const call = response.output.find((item) => item.type === 'shell_call');
      const environment = call?.type === 'shell_call' ? call.environment : null;
      if (environment?.type !== 'container_reference') throw new Error('no shell call in a container');
      const containerId = environment.container_id;
      expect(containerId).toMatch(/^cntr_/);
      const again = (client: OpenAI) =>
        client.responses.create({ model: MODEL, input: 'again', store: false, tools: [{ type: 'shell', environment: { type: 'container_reference', container_id: containerId } }] });
      expect((await again(k.a)).status).toBe('completed');
      expect(await collectIds(k.a.containers.files.list(containerId))).toHaveLength(2);
      await expectGatewayNotFound(h, () => again(k.b));
      await expectGatewayNotFound(h, () => k.b.containers.files.list(containerId));
    });
  }

  it("a background response's container is the caller's once the response is read back as a stream", async () => {
    const queued = await k.a.responses.create({ model: MODEL, input: 'plot 2 + 2', tools: [autoContainer], background: true });
    expect(queued.status).toBe('queued');
    expect(queued.output).toHaveLength(0);
    // B may not follow A's response at all.
    await expectGatewayNotFound(h, () => k.b.responses.retrieve(queued.id, { stream: true }));
    let done: OpenAI.Responses.Response | undefined;
    for await (const event of await k.a.responses.retrieve(queued.id, { stream: true })) if (event.type === 'response.completed') done = event.response;
    if (!done) throw new Error('the read-back stream ended without response.completed');
    const { containerId, fileId } = containerOf(done);
    // Recorded from the events alone (no JSON read of the response happened): A reaches it, B does not.
    expect(await (await k.a.containers.files.content.retrieve(fileId, { container_id: containerId })).text()).toBe(`cfile:${fileId}`);
    await expectGatewayNotFound(h, () => k.b.containers.retrieve(containerId));
    expect(await collectIds(k.b.containers.list())).not.toContain(containerId);
  });

  it("replaying an answer's output as input is the caller's right, and B's replay of it is refused", async () => {
    const first = await k.a.responses.create({ model: MODEL, input: 'chart it', tools: [autoContainer], store: false });
    const { containerId } = containerOf(first);
    // Stateless multi-turn: the previous output (code interpreter call with its container_id, a message citing a
    // container file by its cfile_ id) goes back as input. The citation's file_id is not an organisation file.
    const replay = (client: OpenAI) =>
      client.responses.create({
        model: MODEL,
        store: false,
        input: [...(first.output as OpenAI.Responses.ResponseInputItem[]), { role: 'user', content: 'and now as a table' }],
        tools: [{ type: 'code_interpreter', container: containerId }],
      });
    expect((await replay(k.a)).status).toBe('completed');
    await expectGatewayNotFound(h, () => replay(k.b));
  });

  it('reads `container` as a container only in a code interpreter tool', async () => {
    // A metadata value or another tool's field that happens to be called "container" is the client's own text.
    const ok = await k.a.responses.create({ model: MODEL, input: 'hi', metadata: { container: 'blue-box' } });
    expect(ok.status).toBe('completed');
  });
});

describe('skills', () => {
  const bundle = () => OpenAI.toFile(Buffer.from('---\nname: csv\n---\nRead CSV files.\n'), 'SKILL.md');
  const mounting = (skillId: string) => ({
    model: MODEL,
    input: 'use the skill',
    store: false,
    tools: [{ type: 'shell' as const, environment: { type: 'container_auto' as const, skills: [{ type: 'skill_reference' as const, skill_id: skillId }] } }],
  });

  it("B cannot read, download, update, delete, version, list or mount A's skill", async () => {
    const mine = await k.a.skills.create({ files: [await bundle()] });
    const theirs = await k.b.skills.create({ files: [await bundle()] });
    expect(mine.id).toMatch(/^skill_/);
    await expectGatewayNotFound(h, () => k.b.skills.retrieve(mine.id));
    await expectGatewayNotFound(h, () => k.b.skills.content.retrieve(mine.id));
    await expectGatewayNotFound(h, () => k.b.skills.update(mine.id, { default_version: '1' }));
    await expectGatewayNotFound(h, () => k.b.skills.versions.list(mine.id));
    await expectGatewayNotFound(h, () => k.b.skills.versions.retrieve('1', { skill_id: mine.id }));
    await expectGatewayNotFound(h, () => k.b.skills.versions.content.retrieve('1', { skill_id: mine.id }));
    await expectGatewayNotFound(h, () => k.b.skills.versions.create(mine.id, { files: [] }));
    await expectGatewayNotFound(h, () => k.b.skills.delete(mine.id));
    // Mounting A's skill into a container of B's own: the skill_reference is checked.
    await expectGatewayNotFound(h, () => k.b.responses.create(mounting(mine.id)), mine.id);
    const listB = await collectIds(k.b.skills.list());
    expect(listB).toContain(theirs.id);
    expect(listB).not.toContain(mine.id);
    expect(await collectIds(k.a.skills.list())).toContain(mine.id);
    expect(await (await k.a.skills.content.retrieve(mine.id)).text()).toBe(`zip:${mine.id}`);
    expect((await k.a.skills.versions.create(mine.id, { files: [] })).version).toBe('2');
    expect((await k.a.responses.create(mounting(mine.id))).status).toBe('completed');
  });
});
