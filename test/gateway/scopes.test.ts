import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { rawRequest } from './raw-http.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { server: { trustedProxies: ['127.0.0.1'] } } });
});
afterAll(() => h.close());


describe('scopes', () => {
  it('allows only models matching the key globs, for JSON and multipart bodies', async () => {
    const { key } = await h.createKey({ models: ['gpt-4o-mini', 'gpt-4.1*', 'whisper-1'] });
    const client = h.client(key);
    await client.chat.completions.create({ model: 'gpt-4.1-nano', messages: [{ role: 'user', content: 'x' }] });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    const denied = await apiErrorOf(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }));
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(denied.code).toBe('model_not_allowed');
    expect(denied.status).toBe(403);
    const audio = await apiErrorOf(
      client.audio.transcriptions.create({ model: 'gpt-4o-transcribe', file: await OpenAI.toFile(Buffer.alloc(10), 'a.wav') }),
    );
    expect(audio.code).toBe('model_not_allowed');
    const count = h.fake.requestCount;
    // A body without a model cannot slip past a model allowlist.
    const raw = await fetch(`${h.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [] }),
    });
    expect(raw.status).toBe(400);
    expect(h.fake.requestCount).toBe(count);
  });

  it('lists only the models the key may use', async () => {
    const { key } = await h.createKey({ models: ['gpt-4o*'] });
    const ids: string[] = [];
    for await (const model of await h.client(key).models.list()) ids.push(model.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => id.startsWith('gpt-4o'))).toBe(true);
    const unrestricted = await h.createKey();
    const all: string[] = [];
    for await (const model of await h.client(unrestricted.key).models.list()) all.push(model.id);
    expect(all.length).toBeGreaterThan(ids.length);
    const retrieve = await apiErrorOf(h.client(key).models.retrieve('dall-e-3'));
    expect(retrieve.code).toBe('model_not_allowed');
    expect((await h.client(key).models.retrieve('gpt-4o')).id).toBe('gpt-4o');
  });

  it('keeps dangerous endpoint groups off unless granted', async () => {
    const { key } = await h.createKey();
    const client = h.client(key);
    const fineTune = await apiErrorOf(client.fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: 'file-abc' }));
    expect(fineTune).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(fineTune.code).toBe('endpoint_not_allowed');
    const files = await apiErrorOf(client.files.create({ file: await OpenAI.toFile(Buffer.from('{}'), 'a.jsonl'), purpose: 'fine-tune' }));
    expect(files.code).toBe('endpoint_not_allowed');
    for (const route of ['/batches', '/assistants', '/vector_stores', '/uploads', '/realtime/sessions', '/containers']) {
      const res = await fetch(`${h.server.url}/v1${route}`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: '{}' });
      expect(res.status, route).toBe(403);
    }

    const granted = await h.createKey({ endpoints: ['chat', 'fine_tuning', 'files'] });
    // Training needs a file the key owns (object ownership: a foreign or unknown file id is a 404).
    const training = await h.client(granted.key).files.create({ file: await OpenAI.toFile(Buffer.from('{}'), 'train.jsonl'), purpose: 'fine-tune' });
    const job = await h.client(granted.key).fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: training.id });
    expect(job.object).toBe('fine_tuning.job');
    const chatOnly = await apiErrorOf(h.client(granted.key).embeddings.create({ model: 'text-embedding-3-small', input: 'x' }));
    expect(chatOnly.code).toBe('endpoint_not_allowed');
  });

  it("never reaches the provider's administration, not even with *, however the path is spelled", async () => {
    const { key } = await h.createKey({ endpoints: ['*'] });
    const client = h.client(key);
    // Control: * reaches a group it was never named for.
    expect((await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).data).toHaveLength(1);
    const before = h.fake.requestCount;
    for (const [method, route] of [
      ['GET', '/v1/organization/costs?start_time=0'],
      ['GET', '/v1/organization/admin_api_keys'],
      ['POST', '/v1/organization/projects'],
      ['DELETE', '/v1/organization/projects/proj_1/api_keys/key_1'],
      ['GET', '/v1/Organization/users'],
      ['GET', '/v1/%6Frganization/audit_logs'],
      ['GET', '/v1/./organization/invites'],
    ] as const) {
      const res = await fetch(`${h.server.url}${route}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(res.status, route).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code, route).toBe('endpoint_not_allowed');
    }
    expect(h.fake.requestCount).toBe(before);
    // The key cannot be granted it by name either.
    expect((await h.admin('POST', '/keys', { name: 'admin-wannabe', endpoints: ['organization'] })).status).toBe(400);
  });

  it("holds a Realtime client secret's session model to the key's and the project's model scopes", async () => {
    const limited = h.client((await h.createKey({ endpoints: ['realtime'], models: ['gpt-realtime-mini', 'gpt-4o-mini-transcribe'] })).key);
    const minted = await limited.realtime.clientSecrets.create({ session: { type: 'realtime', model: 'gpt-realtime-mini' } });
    expect(minted.value).toMatch(/^ek_/);
    const before = h.fake.requestCount;
    const other = await apiErrorOf(limited.realtime.clientSecrets.create({ session: { type: 'realtime', model: 'gpt-realtime' } }));
    expect(other.status).toBe(403);
    expect(other.code).toBe('model_not_allowed');
    // Without a model the provider would choose its default: a key limited to models must name one.
    const unnamed = await apiErrorOf(limited.realtime.clientSecrets.create({ session: { type: 'realtime' } }));
    expect(unnamed.code).toBe('model_required');
    const transcription = await apiErrorOf(
      limited.realtime.clientSecrets.create({ session: { type: 'transcription', audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } } }),
    );
    expect(transcription.code).toBe('model_not_allowed');
    // A model smuggled at the top level beside an allowed session model is checked too.
    const raw = await fetch(`${h.server.url}/v1/realtime/client_secrets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${limited.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-realtime', session: { type: 'realtime', model: 'gpt-realtime-mini' } }),
    });
    expect(raw.status).toBe(403);
    // A * key limited to models, on another spelling of the path.
    const anyGroup = (await h.createKey({ endpoints: ['*'], models: ['gpt-realtime-mini'] })).key;
    const spelled = await fetch(`${h.server.url}/v1/Realtime/Client_Secrets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${anyGroup}`, 'content-type': 'application/json' },
      body: JSON.stringify({ session: { type: 'realtime', model: 'gpt-realtime' } }),
    });
    expect(spelled.status).toBe(403);
    // A session the gateway cannot read (an SDP call) is refused for a key limited to models.
    const sdp = await fetch(`${h.server.url}/v1/realtime/calls`, { method: 'POST', headers: { authorization: `Bearer ${limited.apiKey}`, 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    expect(sdp.status).toBe(400);
    expect(h.fake.requestCount).toBe(before);

    // The project's models bind too, though the key allows any.
    const project = await h.admin<{ id: string }>('POST', '/projects', { name: 'voice', models: ['gpt-realtime-mini'] });
    const member = h.client((await h.createKey({ project: project.body.id, endpoints: ['realtime'] })).key);
    expect((await apiErrorOf(member.realtime.clientSecrets.create({ session: { type: 'realtime', model: 'gpt-realtime' } }))).code).toBe('model_not_allowed');
    expect((await member.realtime.clientSecrets.create({ session: { type: 'realtime', model: 'gpt-realtime-mini' } })).session.type).toBe('realtime');
    // A key without model limits keeps the provider's default.
    const open = h.client((await h.createKey({ endpoints: ['realtime'] })).key);
    expect((await open.realtime.clientSecrets.create({ session: { type: 'realtime' } })).value).toMatch(/^ek_/);
  });

  it("holds models a request runs besides its own (an image tool's, an eval's samplers and graders) to the key's scopes", async () => {
    const limited = h.client((await h.createKey({ endpoints: ['responses', 'evals'], models: ['gpt-4o-mini', 'gpt-image-1-mini'] })).key);
    const before = h.fake.requestCount;
    const tool = await apiErrorOf(limited.responses.create({ model: 'gpt-4o-mini', input: 'draw', tools: [{ type: 'image_generation', model: 'gpt-image-1' }] }));
    expect(tool.code).toBe('model_not_allowed');
    // Without a model, the tool would run on the provider's default image model.
    expect((await apiErrorOf(limited.responses.create({ model: 'gpt-4o-mini', input: 'draw', tools: [{ type: 'image_generation' }] }))).code).toBe('model_required');
    const grader = await apiErrorOf(
      limited.evals.create({
        name: 'graded by o3',
        data_source_config: { type: 'custom', item_schema: { type: 'object' } },
        testing_criteria: [{ type: 'score_model', name: 's', model: 'o3', input: [{ role: 'user', content: 'score' }] }],
      }),
    );
    expect(grader.code).toBe('model_not_allowed');
    expect(h.fake.requestCount).toBe(before);
    expect((await limited.responses.create({ model: 'gpt-4o-mini', input: 'draw', tools: [{ type: 'image_generation', model: 'gpt-image-1-mini' }] })).status).toBe('completed');
    const own = await limited.evals.create({
      name: 'graded by mini',
      data_source_config: { type: 'custom', item_schema: { type: 'object' } },
      testing_criteria: [{ type: 'score_model', name: 's', model: 'gpt-4o-mini', input: [{ role: 'user', content: 'score' }] }],
    });
    const sampler = await apiErrorOf(
      limited.evals.runs.create(own.id, { data_source: { type: 'completions', model: 'o3', source: { type: 'file_content', content: [{ item: { q: 'x' } }] } } }),
    );
    expect(sampler.code).toBe('model_not_allowed');
    // A dataset item's own `model` field is data, not a model the run uses.
    const run = await limited.evals.runs.create(own.id, {
      data_source: { type: 'completions', model: 'gpt-4o-mini', source: { type: 'file_content', content: [{ item: { model: 'o3', q: 'x' } }] } },
    });
    expect(run.eval_id).toBe(own.id);
  });

  it('makes a key limited to models name one wherever the provider would pick it (a video, a ChatKit workflow, an API it adds later)', async () => {
    const limited = h.client((await h.createKey({ endpoints: ['*'], models: ['gpt-4o-mini', 'sora-2'] })).key);
    const before = h.fake.requestCount;
    // A ChatKit session runs its workflow's models, which no request names, under a client secret the app then
    // uses against the provider directly.
    const chatkit = await apiErrorOf(limited.beta.chatkit.sessions.create({ user: 'user-1', workflow: { id: 'wf_support' } }));
    expect(chatkit.status).toBe(400);
    expect(chatkit.code).toBe('model_required');
    // Without a model, a video is made by the provider's default video model.
    expect((await apiErrorOf(limited.videos.create({ prompt: 'a red balloon' }))).code).toBe('model_required');
    expect((await apiErrorOf(limited.post('/videos/', { body: { prompt: 'a red balloon' } }))).code).toBe('model_required');
    // A group the gateway does not know (in any spelling) may run anything: it must name a model the key may use.
    for (const path of ['/agents/runs', '/Chatkit/sessions', '/Videos']) {
      expect((await apiErrorOf(limited.post(path, { body: { input: 'hello' } }))).code).toBe('model_required');
    }
    expect((await apiErrorOf(limited.post('/agents/runs', { body: { model: 'o3', input: 'hello' } }))).code).toBe('model_not_allowed');
    expect(h.fake.requestCount).toBe(before);

    // Named and allowed, it passes; a remix reuses its own source's model, and conversations run none.
    const video = await limited.videos.create({ model: 'sora-2', prompt: 'a red balloon' });
    expect((await limited.videos.remix(video.id, { prompt: 'in the rain' })).remixed_from_video_id).toBe(video.id);
    expect((await limited.conversations.create({ metadata: { topic: 'x' } })).object).toBe('conversation');
    // A POST on an object that exists runs no model of its own choosing: cancelling a background response.
    const background = await limited.responses.create({ model: 'gpt-4o-mini', input: 'a long essay', background: true });
    expect((await limited.responses.cancel(background.id)).status).toBe('cancelled');
    // The refusal is the model limit's: a key without one starts the ChatKit session.
    const open = h.client((await h.createKey({ endpoints: ['*'] })).key);
    const session = await open.beta.chatkit.sessions.create({ user: 'user-1', workflow: { id: 'wf_support' } });
    expect(session.object).toBe('chatkit.session');
    expect(session.workflow.id).toBe('wf_support');
  });

  it('cannot reach a denied route through path traversal', async () => {
    const { key } = await h.createKey({ endpoints: ['chat'] });
    // Raw sockets: fetch would resolve `..` and `%2e%2e` itself, and the gateway would never see them.
    const send = (target: string): Promise<string> => {
      const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
      return rawRequest(
        h.server.url,
        `POST ${target} HTTP/1.1\r\nHost: ${new URL(h.server.url).host}\r\nAuthorization: Bearer ${key}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    const statusOf = (raw: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
    // Control: the same raw request to the permitted route goes through, so a refusal below is the path's doing.
    const allowed = h.fake.requestCount;
    expect(statusOf(await send('/v1/chat/completions'))).toBe(200);
    expect(h.fake.requestCount).toBe(allowed + 1);

    const denied: Array<[string, number]> = [
      ['/v1/chat/../fine_tuning/jobs', 403],
      ['/v1/chat/%2e%2e/fine_tuning/jobs', 403],
      ['/v1/chat/%2E%2E%2Ffine_tuning/jobs', 403],
      ['/v1/chat/.%2e/fine_tuning/jobs', 403],
      ['/v1/chat/%2e./fine_tuning/jobs', 403],
      ['/v1/chat/./../fine_tuning/jobs', 403],
      ['/v1/chat/completions/../../fine_tuning/jobs', 403],
      ['/v1/chat/..%2ffine_tuning/jobs', 403],
      ['/v1/chat/%252e%252e/fine_tuning/jobs', 400],
      ['/v1/chat/..\\fine_tuning/jobs', 400],
    ];
    for (const [target, status] of denied) {
      const before = h.fake.requestCount;
      const raw = await send(target);
      expect(statusOf(raw), target).toBe(status);
      expect(h.fake.requestCount, target).toBe(before);
    }
  });

  it('enforces the IP allowlist, honouring X-Forwarded-For only from trusted proxies', async () => {
    const { key } = await h.createKey({ ip_allowlist: ['203.0.113.0/24', '2001:db8::/32'] });
    const call = (xff?: string): Promise<Response> =>
      fetch(`${h.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(xff ? { 'x-forwarded-for': xff } : {}) },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      });
    const direct = await call();
    expect(direct.status).toBe(403);
    expect(((await direct.json()) as { error: { code: string } }).error.code).toBe('ip_not_allowed');
    expect((await call('203.0.113.9')).status).toBe(200);
    expect((await call('2001:db8::7')).status).toBe(200);
    expect((await call('198.51.100.1')).status).toBe(403);
    // A forged leftmost hop does not help: the rightmost untrusted address is the client.
    expect((await call('203.0.113.9, 198.51.100.1')).status).toBe(403);

    const sdkDenied = await apiErrorOf(h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [] }));
    expect(sdkDenied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(sdkDenied.code).toBe('ip_not_allowed');
  });

  it('caps the request body size per key', async () => {
    const { key } = await h.createKey({ max_body_bytes: 2000 });
    const client = h.client(key);
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'small' }] });
    const big = await apiErrorOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(5000) }] }));
    expect(big.status).toBe(413);
    expect(big.code).toBe('request_too_large');
  });
});
