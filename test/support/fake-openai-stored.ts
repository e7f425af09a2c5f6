// Stored objects of the fake upstream: stored chat completions, responses, conversations, files, batches, vector
// stores, uploads, fine-tuning jobs, fine-tuned models, assistants and threads (messages, runs), videos (content,
// remix), evals (runs), containers (files; started by Responses calls too), skills (versions, content) and ChatKit
// (sessions, threads and their items, made by a stand-in for the front end), with OpenAI's shapes (cursor lists with
// first_id / last_id / has_more, deletion objects, 404s). ONE store per fake instance, shared by every caller, as OpenAI
// keeps one store behind one API key: that shared store is what a gateway must partition by virtual key.
import { chatCompletions } from './fake-openai-chat.js';
import { chatkitSession, createFineTuningJob, listModels, uploadFile } from './fake-openai-endpoints.js';
import { errorReply, invalidRequest } from './fake-openai-errors.js';
import { replayResponse, responses, type ContainerToolRun } from './fake-openai-responses.js';
import type { Handler, HandlerContext, Reply } from './fake-openai-types.js';
import type { BillingLedger } from './fake-openai-billing.js';
import { isObject, newId, nowSeconds, str, type JsonObject } from './fake-openai-util.js';

export interface StoredObjects {
  /** A handler for the route when the stored-object layer serves it (it may wrap a stateless handler). */
  /** `search`: the raw query string (without `?`), parsed only by the list routes that read it. */
  handlerFor(method: string, route: string, search: string): Handler | undefined;
  clear(): void;
}

type Collection = Map<string, JsonObject>;

const json = (value: unknown, status = 200): Reply => ({ kind: 'json', status, body: JSON.stringify(value) });

function noSuch(label: string, id: string, param: string | null = 'id'): Reply {
  return errorReply(404, { message: `No such ${label}: ${id}`, type: 'invalid_request_error', param, code: null });
}

/** OpenAI's cursor page: `after` = an id of the previous page, `limit` (default 20), `order` asc|desc. */
function page(items: Collection, query: URLSearchParams, defaultOrder: 'asc' | 'desc'): Reply {
  const all = [...items.values()];
  if ((query.get('order') ?? defaultOrder) === 'desc') all.reverse();
  const after = query.get('after');
  const start = after === null ? 0 : all.findIndex((item) => item.id === after) + 1;
  const limit = Math.min(Math.max(Number(query.get('limit') ?? 20) || 20, 1), 100);
  const data = all.slice(start, start + limit);
  return json({
    object: 'list',
    data,
    first_id: (data[0]?.id as string | undefined) ?? null,
    last_id: (data[data.length - 1]?.id as string | undefined) ?? null,
    has_more: start + limit < all.length,
  });
}

/** The JSON object of a reply: the body, or for SSE the object named by the last event that carries one. */
function replyObject(reply: Reply): JsonObject | undefined {
  if (reply.kind === 'json') return reply.status === 200 ? (JSON.parse(reply.body) as JsonObject) : undefined;
  if (reply.kind !== 'sse') return undefined;
  let found: JsonObject | undefined;
  for (const frame of reply.frames) {
    const data = /^data: (.*)$/m.exec(frame)?.[1];
    if (data === undefined || data === '[DONE]') continue;
    const parsed = JSON.parse(data) as JsonObject;
    if (isObject(parsed.response)) found = parsed.response;
    else if (found === undefined && typeof parsed.id === 'string') found = { ...parsed, object: 'chat.completion', choices: [] };
  }
  return found;
}

export function createStoredObjects(): StoredObjects {
  const completions: Collection = new Map();
  const completionMessages = new Map<string, JsonObject[]>();
  const storedResponses: Collection = new Map();
  const inputItems = new Map<string, JsonObject[]>();
  const conversations: Collection = new Map();
  const files: Collection = new Map();
  /** What an uploaded file held, served back by GET /files/{id}/content (generated files answer a stub). */
  const fileContents = new Map<string, Buffer>();
  const batches: Collection = new Map();
  const vectorStores: Collection = new Map();
  const vectorStoreFiles = new Map<string, Collection>();
  const uploads: Collection = new Map();
  const jobs: Collection = new Map();
  const models: Collection = new Map();
  const assistants: Collection = new Map();
  const threads: Collection = new Map();
  const threadMessages = new Map<string, Collection>();
  const threadRuns = new Map<string, Collection>();
  const videos: Collection = new Map();
  const evals: Collection = new Map();
  const evalRuns = new Map<string, Collection>();
  const containers: Collection = new Map();
  const containerFiles = new Map<string, Collection>();
  const skills: Collection = new Map();
  const skillVersions = new Map<string, Collection>();
  const chatkitSessions: Collection = new Map();
  const chatkitThreads: Collection = new Map();
  const chatkitItems = new Map<string, Collection>();

  /**
   * Stands in for the ChatKit front end, which talks to the provider directly with a session's client secret (never
   * through the gateway): a message in a new thread of the session's user. Not an API route of OpenAI's.
   */
  function frontEndMessage(ctx: HandlerContext): Reply {
    const secret = str(ctx.json.client_secret);
    const session = [...chatkitSessions.values()].find((candidate) => candidate.client_secret === secret && candidate.status === 'active');
    if (session === undefined) return invalidRequest('Unknown or cancelled client secret.', 'client_secret');
    const thread = { id: newId('cthr_'), object: 'chatkit.thread', created_at: nowSeconds(), status: { type: 'active' }, title: null, user: session.user };
    chatkitThreads.set(thread.id, thread);
    const item = { id: newId('cthi_'), object: 'chatkit.thread_item', thread_id: thread.id, created_at: nowSeconds(), type: 'chatkit.user_message', attachments: [], content: [{ type: 'input_text', text: str(ctx.json.text) ?? '' }], inference_options: null };
    chatkitItems.set(thread.id, new Map([[item.id, item]]));
    return json(thread);
  }

  function chatkitThreadAction(method: string, id: string, rest: string[], query: URLSearchParams): Reply {
    if (method === 'GET' && rest.length === 1 && rest[0] === 'items') return page(chatkitItems.get(id) ?? new Map<string, JsonObject>(), query, 'asc');
    return noSuch('route', rest.join('/'));
  }

  function addFile(filename: string, purpose: string, bytes: number): JsonObject {
    const file = { object: 'file', id: newId('file-'), purpose, filename, bytes, created_at: nowSeconds(), expires_at: null, status: 'processed', status_details: null };
    files.set(file.id, file);
    return file;
  }

  function createChat(ctx: HandlerContext): Reply {
    const reply = chatCompletions(ctx);
    if (ctx.json.store !== true) return reply;
    const created = replyObject(reply);
    const id = created?.id;
    if (created && typeof id === 'string') {
      completions.set(id, { ...created, metadata: ctx.json.metadata ?? {} });
      const messages = Array.isArray(ctx.json.messages) ? (ctx.json.messages as JsonObject[]) : [];
      completionMessages.set(id, messages.map((m, i) => ({ id: `${id}-${i}`, ...m })));
    }
    return reply;
  }

  function createResponse(ctx: HandlerContext): Reply {
    const previous = str(ctx.json.previous_response_id);
    if (previous !== undefined && !storedResponses.has(previous)) {
      return errorReply(404, { message: `Previous response with id '${previous}' not found.`, type: 'invalid_request_error', param: 'previous_response_id', code: 'previous_response_not_found' });
    }
    const run = containerToolRun(ctx);
    if (run !== undefined && 'kind' in run) return run;
    const conversation = ctx.json.conversation;
    const conversationId = typeof conversation === 'string' ? conversation : isObject(conversation) ? str(conversation.id) : undefined;
    if (conversationId !== undefined && !conversations.has(conversationId)) return noSuch('conversation', conversationId, 'conversation');
    let finished: JsonObject | undefined;
    const reply = responses(ctx, run, (response) => (finished = response));
    const created = ctx.json.store !== false ? replyObject(reply) : undefined;
    if (created && typeof created.id === 'string') {
      // A background response is read back finished (the fake runs it at once).
      storedResponses.set(created.id, finished ?? created);
      const input = ctx.json.input;
      const items = typeof input === 'string' ? [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }] : Array.isArray(input) ? (input as JsonObject[]) : [];
      inputItems.set(created.id, items.map((item) => ({ id: newId('msg_'), ...item })));
    }
    return reply;
  }

  function createJob(ctx: HandlerContext): Reply {
    const training = str(ctx.json.training_file);
    if (training !== undefined && !files.has(training)) return invalidRequest(`invalid training_file: ${training}`, 'training_file');
    const reply = createFineTuningJob(ctx);
    const created = replyObject(reply);
    if (created) jobs.set(created.id as string, created);
    return reply;
  }

  /** Reading a job finishes it, so tests get a fine-tuned model without waiting. */
  function finishJob(job: JsonObject): JsonObject {
    if (job.status === 'validating_files') {
      const model = `ft:${String(job.model)}:fake-org::${String(job.id).slice(-8)}`;
      Object.assign(job, { status: 'succeeded', finished_at: nowSeconds(), fine_tuned_model: model, trained_tokens: 1000 });
      const result = addFile('step_metrics.csv', 'fine-tune-results', 100);
      job.result_files = [result.id];
      models.set(model, { id: model, object: 'model', created: nowSeconds(), owned_by: 'fake-org' });
    }
    return job;
  }

  function createBatch(ctx: HandlerContext): Reply {
    const input = str(ctx.json.input_file_id);
    if (input === undefined || !files.has(input)) return invalidRequest(`Invalid 'input_file_id': '${String(input)}'.`, 'input_file_id');
    const batch = {
      id: newId('batch_'), object: 'batch', endpoint: str(ctx.json.endpoint) ?? '/v1/chat/completions', errors: null,
      input_file_id: input, completion_window: str(ctx.json.completion_window) ?? '24h', status: 'validating',
      output_file_id: null, error_file_id: null, created_at: nowSeconds(), in_progress_at: null, expires_at: null,
      completed_at: null, failed_at: null, expired_at: null, cancelling_at: null, cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 }, metadata: ctx.json.metadata ?? null,
    };
    batches.set(batch.id, batch);
    return json(batch);
  }

  /** Reading a batch completes it with an output file. */
  function finishBatch(batch: JsonObject): JsonObject {
    if (batch.status === 'validating') Object.assign(batch, { status: 'completed', completed_at: nowSeconds(), output_file_id: addFile('batch_output.jsonl', 'batch_output', 10).id });
    return batch;
  }

  function attachFile(storeId: string, fileId: unknown): Reply {
    if (typeof fileId !== 'string' || !files.has(fileId)) return noSuch('file', String(fileId), 'file_id');
    const entry = { id: fileId, object: 'vector_store.file', created_at: nowSeconds(), vector_store_id: storeId, status: 'completed', last_error: null, usage_bytes: 10 };
    vectorStoreFiles.get(storeId)?.set(fileId, entry);
    return json(entry);
  }

  function createVectorStore(ctx: HandlerContext): Reply {
    const store = {
      id: newId('vs_'), object: 'vector_store', created_at: nowSeconds(), name: str(ctx.json.name) ?? null, usage_bytes: 0,
      file_counts: { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 }, status: 'completed',
      expires_after: null, expires_at: null, last_active_at: nowSeconds(), metadata: ctx.json.metadata ?? {},
    };
    vectorStores.set(store.id, store);
    vectorStoreFiles.set(store.id, new Map());
    for (const fileId of Array.isArray(ctx.json.file_ids) ? ctx.json.file_ids : []) attachFile(store.id, fileId);
    return json(store);
  }

  function createUpload(ctx: HandlerContext): Reply {
    const upload = {
      id: newId('upload_'), object: 'upload', bytes: Number(ctx.json.bytes ?? 0), created_at: nowSeconds(),
      filename: str(ctx.json.filename) ?? 'upload', purpose: str(ctx.json.purpose) ?? 'assistants', status: 'pending',
      expires_at: nowSeconds() + 3600, file: null,
    };
    uploads.set(upload.id, upload);
    return json(upload);
  }

  function uploadAction(upload: JsonObject, action: string): Reply {
    if (action === 'parts') return json({ id: newId('part_'), object: 'upload.part', created_at: nowSeconds(), upload_id: upload.id });
    if (action === 'cancel') return json(Object.assign(upload, { status: 'cancelled' }));
    if (action === 'complete') {
      const file = addFile(String(upload.filename), String(upload.purpose), Number(upload.bytes));
      return json(Object.assign(upload, { status: 'completed', file }));
    }
    return noSuch('upload action', action);
  }

  function createThread(ctx: HandlerContext): JsonObject {
    const thread = { id: newId('thread_'), object: 'thread', created_at: nowSeconds(), metadata: ctx.json.metadata ?? {}, tool_resources: {} };
    threads.set(thread.id, thread);
    threadMessages.set(thread.id, new Map());
    threadRuns.set(thread.id, new Map());
    return thread;
  }

  /** A run: queued, naming its assistant and thread (what the Assistants API answers). */
  function createRun(threadId: string, assistantId: unknown): Reply {
    if (typeof assistantId !== 'string' || !assistants.has(assistantId)) return noSuch('assistant', String(assistantId), 'assistant_id');
    const run = { id: newId('run_'), object: 'thread.run', created_at: nowSeconds(), assistant_id: assistantId, thread_id: threadId, status: 'queued', model: assistants.get(assistantId)?.model, instructions: null, tools: [], metadata: {}, usage: null };
    threadRuns.get(threadId)?.set(run.id, run);
    return json(run);
  }

  function threadAction(method: string, threadId: string, rest: string[], ctx: HandlerContext, query: URLSearchParams): Reply {
    const kind = rest[0];
    const items = kind === 'messages' ? threadMessages.get(threadId) : kind === 'runs' ? threadRuns.get(threadId) : undefined;
    if (items === undefined) return noSuch('route', rest.join('/'));
    if (rest.length > 1) {
      const item = items.get(rest[1] ?? '');
      return item === undefined ? noSuch(kind === 'runs' ? 'run' : 'message', rest[1] ?? '') : json(item);
    }
    if (method === 'GET') return page(items, query, 'desc');
    if (kind === 'runs') return createRun(threadId, ctx.json.assistant_id);
    const message = { id: newId('msg_'), object: 'thread.message', created_at: nowSeconds(), thread_id: threadId, role: ctx.json.role ?? 'user', content: [{ type: 'text', text: { value: str(ctx.json.content) ?? '', annotations: [] } }], attachments: ctx.json.attachments ?? [], metadata: {} };
    items.set(message.id, message);
    return json(message);
  }

  function addContainer(name: string): JsonObject {
    const container = { id: newId('cntr_'), object: 'container', name, status: 'running', created_at: nowSeconds(), last_active_at: nowSeconds(), expires_after: { anchor: 'last_active_at', minutes: 20 }, memory_limit: '1g' };
    containers.set(container.id, container);
    containerFiles.set(container.id, new Map());
    return container;
  }

  function addContainerFile(containerId: string, filename: string, source: 'user' | 'assistant', bytes: number): JsonObject {
    const file = { id: newId('cfile_'), object: 'container.file', container_id: containerId, path: `/mnt/data/${filename}`, source, bytes, created_at: nowSeconds() };
    containerFiles.get(containerId)?.set(file.id, file);
    return file;
  }

  /**
   * A Responses call's hosted tool in a container (a code interpreter, or a shell): the container it names (404 when
   * there is none, as OpenAI answers) or a new one it starts (`container: {type: "auto"}`, `environment: {type:
   * "container_auto"}`), and the file it writes there. Undefined without such a tool.
   */
  function containerToolRun(ctx: HandlerContext): ContainerToolRun | Reply | undefined {
    const tool = (Array.isArray(ctx.json.tools) ? ctx.json.tools : []).find((t): t is JsonObject => isObject(t) && (t.type === 'code_interpreter' || t.type === 'shell'));
    if (tool === undefined) return undefined;
    const environment = isObject(tool.environment) ? tool.environment : {};
    const named = tool.type === 'shell' ? (environment.type === 'container_reference' ? str(environment.container_id) : undefined) : str(tool.container);
    if (tool.type === 'shell' && named === undefined && environment.type !== 'container_auto') return undefined;
    if (named !== undefined && !containers.has(named)) return noSuch('container', named, 'tools');
    for (const skill of Array.isArray(environment.skills) ? environment.skills : []) {
      const skillId = isObject(skill) ? str(skill.skill_id) : undefined;
      if (skillId !== undefined && !skills.has(skillId)) return noSuch('skill', skillId, 'tools');
    }
    const containerId = named ?? (addContainer('auto').id as string);
    const file = addContainerFile(containerId, 'result.csv', 'assistant', 12);
    return { tool: tool.type === 'shell' ? 'shell' : 'code_interpreter', containerId, fileId: file.id as string, filename: 'result.csv' };
  }

  function containerAction(method: string, containerId: string, rest: string[], ctx: HandlerContext, query: URLSearchParams): Reply {
    const entries = containerFiles.get(containerId);
    if (rest[0] !== 'files' || entries === undefined) return noSuch('route', rest.join('/'));
    if (rest.length === 1) {
      if (method === 'GET') return page(entries, query, 'desc');
      const upload = ctx.multipart?.files.find((f) => f.field === 'file');
      if (upload) return json(addContainerFile(containerId, upload.filename, 'user', upload.data.length));
      const fileId = str(ctx.json.file_id);
      const source = fileId === undefined ? undefined : files.get(fileId);
      if (source === undefined) return noSuch('file', String(fileId), 'file_id');
      return json(addContainerFile(containerId, String(source.filename), 'user', Number(source.bytes)));
    }
    const entry = entries.get(rest[1] ?? '');
    if (entry === undefined) return noSuch('container file', rest[1] ?? '');
    if (rest[2] === 'content') return { kind: 'bytes', status: 200, contentType: 'application/octet-stream', body: `cfile:${String(entry.id)}` };
    if (method === 'DELETE') {
      entries.delete(String(entry.id));
      return json({ id: entry.id, object: 'container.file.deleted', deleted: true });
    }
    return json(entry);
  }

  function addSkillVersion(skillId: string): JsonObject {
    const versions = skillVersions.get(skillId) ?? new Map<string, JsonObject>();
    skillVersions.set(skillId, versions);
    const version = String(versions.size + 1);
    const entry = { id: version, object: 'skill.version', skill_id: skillId, version, name: 'skill', description: 'a skill', created_at: nowSeconds() };
    versions.set(version, entry);
    const skill = skills.get(skillId);
    if (skill) skill.latest_version = version;
    return entry;
  }

  function skillAction(method: string, skillId: string, rest: string[], query: URLSearchParams): Reply {
    if (rest[0] === 'content' && rest.length === 1) return { kind: 'bytes', status: 200, contentType: 'application/zip', body: `zip:${skillId}` };
    const versions = skillVersions.get(skillId);
    if (rest[0] !== 'versions' || versions === undefined) return noSuch('route', rest.join('/'));
    if (rest.length === 1) return method === 'POST' ? json(addSkillVersion(skillId)) : page(versions, query, 'desc');
    const version = versions.get(rest[1] ?? '');
    if (version === undefined) return noSuch('skill version', rest[1] ?? '');
    if (rest[2] === 'content') return { kind: 'bytes', status: 200, contentType: 'application/zip', body: `zip:${skillId}@${String(version.version)}` };
    if (method === 'DELETE') {
      versions.delete(String(version.version));
      return json({ id: version.id, object: 'skill.version.deleted', deleted: true, version: version.version });
    }
    return json(version);
  }

  /** A video job, finished at once (tests need no polling). Fields come from a JSON body or a multipart form. */
  function addVideo(fields: Record<string, unknown>, remixedFrom: string | null, billing: BillingLedger | undefined): JsonObject {
    // A remix keeps its original's model, length and size, as OpenAI's does (and bills them again).
    const original = remixedFrom === null ? undefined : videos.get(remixedFrom);
    const video = {
      id: newId('video_'), object: 'video', model: str(fields.model) ?? str(original?.model) ?? 'sora-2', status: 'completed', progress: 100,
      created_at: nowSeconds(), completed_at: nowSeconds(), expires_at: null, prompt: str(fields.prompt) ?? null,
      seconds: str(fields.seconds) ?? str(original?.seconds) ?? '4', size: str(fields.size) ?? str(original?.size) ?? '720x1280', remixed_from_video_id: remixedFrom, error: null,
    };
    videos.set(video.id, video);
    billing?.chargeVideo(video.model, Number(video.seconds), video.size);
    return video;
  }

  /** A run of an eval: OpenAI refuses a file source it cannot find, as the fake does. */
  function createEvalRun(evalId: string, ctx: HandlerContext): Reply {
    const dataSource = isObject(ctx.json.data_source) ? ctx.json.data_source : {};
    const source = isObject(dataSource.source) ? dataSource.source : {};
    if (source.type === 'file_id' && !files.has(String(source.id))) return noSuch('file', String(source.id), 'data_source');
    const run = { id: newId('evalrun_'), object: 'eval.run', eval_id: evalId, name: str(ctx.json.name) ?? 'run', status: 'queued', data_source: dataSource, created_at: nowSeconds(), metadata: ctx.json.metadata ?? {}, error: null };
    evalRuns.get(evalId)?.set(run.id, run);
    return json(run);
  }

  function evalAction(method: string, evalId: string, rest: string[], ctx: HandlerContext, query: URLSearchParams): Reply {
    const runs = evalRuns.get(evalId);
    if (rest[0] !== 'runs' || runs === undefined) return noSuch('route', rest.join('/'));
    if (rest.length === 1) return method === 'POST' ? createEvalRun(evalId, ctx) : page(runs, query, 'asc');
    const run = runs.get(rest[1] ?? '');
    return run === undefined ? noSuch('eval run', rest[1] ?? '') : json(run);
  }

  const collections: Record<string, { items: Collection; label: string; order: 'asc' | 'desc'; deleted: string }> = {
    'chat/completions': { items: completions, label: 'chat completion', order: 'asc', deleted: 'chat.completion.deleted' },
    responses: { items: storedResponses, label: 'response', order: 'desc', deleted: 'response' },
    conversations: { items: conversations, label: 'conversation', order: 'desc', deleted: 'conversation.deleted' },
    files: { items: files, label: 'File object', order: 'desc', deleted: 'file' },
    batches: { items: batches, label: 'batch', order: 'desc', deleted: 'batch' },
    vector_stores: { items: vectorStores, label: 'vector store', order: 'desc', deleted: 'vector_store.deleted' },
    uploads: { items: uploads, label: 'upload', order: 'desc', deleted: 'upload' },
    'fine_tuning/jobs': { items: jobs, label: 'fine-tuning job', order: 'desc', deleted: 'fine_tuning.job' },
    models: { items: models, label: 'model', order: 'desc', deleted: 'model' },
    assistants: { items: assistants, label: 'assistant', order: 'desc', deleted: 'assistant.deleted' },
    threads: { items: threads, label: 'thread', order: 'desc', deleted: 'thread.deleted' },
    videos: { items: videos, label: 'video', order: 'desc', deleted: 'video.deleted' },
    evals: { items: evals, label: 'eval', order: 'asc', deleted: 'eval.deleted' },
    containers: { items: containers, label: 'container', order: 'desc', deleted: 'container.deleted' },
    skills: { items: skills, label: 'skill', order: 'desc', deleted: 'skill.deleted' },
    'chatkit/sessions': { items: chatkitSessions, label: 'ChatKit session', order: 'desc', deleted: 'chatkit.session' },
    'chatkit/threads': { items: chatkitThreads, label: 'ChatKit thread', order: 'desc', deleted: 'chatkit.thread.deleted' },
  };

  const creators: Record<string, Handler> = {
    'chat/completions': createChat,
    responses: createResponse,
    conversations: (ctx) => {
      const conversation = { id: newId('conv_'), object: 'conversation', created_at: nowSeconds(), metadata: ctx.json.metadata ?? {} };
      conversations.set(conversation.id, conversation);
      return json(conversation);
    },
    files: (ctx) => {
      const reply = uploadFile(ctx);
      const created = replyObject(reply);
      if (created) {
        files.set(created.id as string, created);
        const upload = ctx.multipart?.files.find((f) => f.field === 'file');
        if (upload) fileContents.set(created.id as string, upload.data);
      }
      return reply;
    },
    batches: createBatch,
    vector_stores: createVectorStore,
    uploads: createUpload,
    'fine_tuning/jobs': createJob,
    assistants: (ctx) => {
      const model = str(ctx.json.model);
      if (model === undefined) return invalidRequest("Missing required parameter: 'model'.", 'model');
      const assistant = { id: newId('asst_'), object: 'assistant', created_at: nowSeconds(), name: ctx.json.name ?? null, description: null, model, instructions: ctx.json.instructions ?? null, tools: ctx.json.tools ?? [], tool_resources: ctx.json.tool_resources ?? {}, metadata: ctx.json.metadata ?? {} };
      assistants.set(assistant.id, assistant);
      return json(assistant);
    },
    threads: (ctx) => json(createThread(ctx)),
    videos: (ctx) => json(addVideo(ctx.multipart?.fields ?? ctx.json, null, ctx.billing)),
    skills: () => {
      const skill = { id: newId('skill_'), object: 'skill', name: 'skill', description: 'a skill', default_version: '1', latest_version: '1', created_at: nowSeconds() };
      skills.set(skill.id, skill);
      addSkillVersion(skill.id);
      return json(skill);
    },
    containers: (ctx) => {
      const container = addContainer(str(ctx.json.name) ?? 'container');
      for (const fileId of Array.isArray(ctx.json.file_ids) ? ctx.json.file_ids : []) {
        const source = typeof fileId === 'string' ? files.get(fileId) : undefined;
        if (source === undefined) return noSuch('file', String(fileId), 'file_ids');
        addContainerFile(container.id as string, String(source.filename), 'user', Number(source.bytes));
      }
      return json(container);
    },
    'chatkit/sessions': (ctx) => {
      const reply = chatkitSession(ctx);
      const created = replyObject(reply);
      if (created) chatkitSessions.set(created.id as string, created);
      return reply;
    },
    evals: (ctx) => {
      const created = { id: newId('eval_'), object: 'eval', name: str(ctx.json.name) ?? 'eval', data_source_config: ctx.json.data_source_config ?? {}, testing_criteria: ctx.json.testing_criteria ?? [], created_at: nowSeconds(), metadata: ctx.json.metadata ?? {} };
      evals.set(created.id, created);
      evalRuns.set(created.id, new Map());
      return json(created);
    },
  };

  /** Everything that names one object: retrieve, update, delete and the sub-resources. */
  function onObject(method: string, name: string, id: string, rest: string[], query: URLSearchParams): Handler {
    return (ctx) => {
      const collection = collections[name];
      const object = collection?.items.get(id);
      if (collection === undefined || object === undefined) return noSuch(collection?.label ?? 'object', id);
      const sub = rest.join('/');
      if (sub === '') {
        if (method === 'DELETE') {
          collection.items.delete(id);
          return json({ id, object: collection.deleted, deleted: true });
        }
        if (method === 'POST') Object.assign(object, isObject(ctx.json.metadata) ? { metadata: ctx.json.metadata } : {}, typeof ctx.json.name === 'string' ? { name: ctx.json.name } : {});
        if (name === 'fine_tuning/jobs') return json(finishJob(object));
        if (name === 'batches') return json(finishBatch(object));
        if (name === 'responses' && method === 'GET' && query.get('stream') === 'true') return replayResponse(object);
        return json(object);
      }
      if (name === 'chat/completions' && sub === 'messages') return page(new Map((completionMessages.get(id) ?? []).map((m) => [String(m.id), m])), query, 'asc');
      if (name === 'responses' && sub === 'input_items') return page(new Map((inputItems.get(id) ?? []).map((m) => [String(m.id), m])), query, 'desc');
      if (name === 'responses' && sub === 'cancel') return json(Object.assign(object, { status: 'cancelled' }));
      if (name === 'conversations' && sub === 'items') return page(new Map(), query, 'desc');
      if (name === 'files' && sub === 'content') return { kind: 'bytes', status: 200, contentType: 'application/octet-stream', body: fileContents.get(id) ?? `{"file":"${id}"}` };
      if ((name === 'batches' || name === 'fine_tuning/jobs') && sub === 'cancel') return json(Object.assign(object, { status: 'cancelled' }));
      if (name === 'fine_tuning/jobs' && sub === 'events') return page(new Map(), query, 'desc');
      if (name === 'uploads') return uploadAction(object, sub);
      if (name === 'threads') return threadAction(method, id, rest, ctx, query);
      if (name === 'videos' && sub === 'content') return { kind: 'bytes', status: 200, contentType: 'video/mp4', body: `mp4:${id}` };
      if (name === 'videos' && sub === 'remix' && method === 'POST') return json(addVideo(ctx.multipart?.fields ?? ctx.json, id, ctx.billing));
      if (name === 'evals') return evalAction(method, id, rest, ctx, query);
      if (name === 'containers') return containerAction(method, id, rest, ctx, query);
      if (name === 'skills') return skillAction(method, id, rest, query);
      if (name === 'chatkit/sessions' && method === 'POST' && sub === 'cancel') return json(Object.assign(object, { status: 'cancelled' }));
      if (name === 'chatkit/threads') return chatkitThreadAction(method, id, rest, query);
      if (name === 'vector_stores' && rest[0] === 'files') {
        if (rest.length === 1) return method === 'POST' ? attachFile(id, ctx.json.file_id) : page(vectorStoreFiles.get(id) ?? new Map<string, JsonObject>(), query, 'desc');
        const entry = vectorStoreFiles.get(id)?.get(rest[1] ?? '');
        return entry === undefined ? noSuch('file', rest[1] ?? '') : json(entry);
      }
      return noSuch('route', sub);
    };
  }

  return {
    handlerFor(method, route, search) {
      // The benchmark's hot route: no parsing unless the request stores its completion.
      if (route === '/chat/completions' && method === 'POST') return createChat;
      const query = new URLSearchParams(search);
      let segments: string[];
      try {
        segments = route.slice(1).split('/').map((s) => decodeURIComponent(s));
      } catch {
        return undefined;
      }
      if (route === '/chatkit/conversation' && method === 'POST') return frontEndMessage;
      const prefixLength = segments[0] === 'chat' || segments[0] === 'fine_tuning' || segments[0] === 'chatkit' ? 2 : 1;
      const name = segments.slice(0, prefixLength).join('/');
      if (collections[name] === undefined) return undefined;
      if (segments.length === prefixLength) {
        if (method === 'POST') return creators[name];
        if (method !== 'GET') return undefined;
        if (name === 'models') return () => json({ object: 'list', data: [...(JSON.parse((listModels() as { body: string }).body) as { data: unknown[] }).data, ...models.values()] });
        const collection = collections[name];
        if (name === 'chatkit/threads') {
          const user = query.get('user');
          return () => page(user === null ? chatkitThreads : new Map([...chatkitThreads].filter(([, thread]) => thread.user === user)), query, 'desc');
        }
        return name === 'responses' || name === 'conversations' || name === 'uploads' || name === 'threads' || name === 'chatkit/sessions' ? undefined : () => page(collection.items, query, collection.order);
      }
      const id = segments[prefixLength] as string;
      // POST /threads/runs: a new thread and a run on it, in one call.
      if (name === 'threads' && id === 'runs' && segments.length === 2 && method === 'POST') return (ctx) => createRun(createThread(ctx).id as string, ctx.json.assistant_id);
      // Base models stay with the stateless handler; fine-tuned ones live here.
      if (name === 'models' && !id.startsWith('ft:')) return method === 'DELETE' ? () => noSuch('model', id, 'model') : undefined;
      return onObject(method, name, id, segments.slice(prefixLength + 1), query);
    },
    clear() {
      for (const map of [completions, completionMessages, storedResponses, inputItems, conversations, files, fileContents, batches, vectorStores, vectorStoreFiles, uploads, jobs, models, assistants, threads, threadMessages, threadRuns, videos, evals, evalRuns, containers, containerFiles, skills, skillVersions, chatkitSessions, chatkitThreads, chatkitItems]) map.clear();
    },
  };
}
