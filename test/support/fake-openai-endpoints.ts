// The non-generative JSON endpoints: embeddings, moderations, models, and the minimal /files and
// /fine_tuning/jobs shapes the gateway must block unless a key is granted them.
import { answeredModel } from './fake-openai-generation.js';
import { invalidRequest, modelNotFoundReply } from './fake-openai-errors.js';
import type { HandlerContext, Reply } from './fake-openai-types.js';
import { hash32, int, isObject, newId, nowSeconds, seededFloats, str, textTokens } from './fake-openai-util.js';

const json = (value: unknown): Reply => ({ kind: 'json', status: 200, body: JSON.stringify(value) });

/** A unit-length vector derived from the text; float32-exact so the base64 and float paths agree. */
export function fakeEmbedding(text: string, dimensions: number): number[] {
  const raw = seededFloats(hash32(text), dimensions);
  let norm = 0;
  for (const v of raw) norm += v * v;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return raw.map((v) => Math.fround(v * scale));
}

/** Inputs as texts: token arrays are keyed by their numbers and count one token each. */
function embeddingInputs(input: unknown): Array<{ key: string; tokens: number }> | undefined {
  if (typeof input === 'string') return [{ key: input, tokens: textTokens(input) }];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((x) => typeof x === 'number')) return [{ key: input.join(','), tokens: input.length }];
  const out: Array<{ key: string; tokens: number }> = [];
  for (const item of input) {
    if (typeof item === 'string') out.push({ key: item, tokens: textTokens(item) });
    else if (Array.isArray(item)) out.push({ key: item.join(','), tokens: item.length });
    else return undefined;
  }
  return out;
}

export function embeddings(ctx: HandlerContext): Reply {
  const model = str(ctx.json.model) ?? ctx.deployment;
  if (model === undefined) return invalidRequest('you must provide a model parameter');
  const inputs = embeddingInputs(ctx.json.input);
  if (inputs === undefined) return invalidRequest("'$.input' is invalid. Please check the API reference.", 'input');
  const dimensions = int(ctx.json.dimensions) ?? (model === 'text-embedding-3-large' ? 3072 : 1536);
  const base64 = ctx.json.encoding_format === 'base64';
  let tokens = 0;
  const data = inputs.map((input, index) => {
    tokens += input.tokens;
    const vector = fakeEmbedding(input.key, dimensions);
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding', index, embedding };
  });
  if (ctx.billing) tokens = ctx.billing.chargeEmbeddings(ctx.json, model);
  return json({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

const MODERATION_CATEGORIES = [
  'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent',
  'self-harm', 'self-harm/intent', 'self-harm/instructions', 'sexual', 'sexual/minors', 'violence',
  'violence/graphic',
] as const;

/** Inputs containing this word (case-insensitive) are flagged for violence; everything else is clean. */
export const MODERATION_TRIGGER = 'kill';

export function moderations(ctx: HandlerContext): Reply {
  const input = ctx.json.input;
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input : undefined;
  if (texts === undefined || texts.length === 0) return invalidRequest("Missing required parameter: 'input'.", 'input');
  // A multimodal array ({type:'text'|'image_url'}) is one input; an array of strings is one input each.
  const groups = texts.every((t) => typeof t === 'string') ? texts.map((t) => [t]) : [texts];
  const results = groups.map((group) => {
    const text = group.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
    const flagged = text.toLowerCase().includes(MODERATION_TRIGGER);
    const categories: Record<string, boolean> = {};
    const scores: Record<string, number> = {};
    const applied: Record<string, string[]> = {};
    for (const name of MODERATION_CATEGORIES) {
      categories[name] = flagged && name === 'violence';
      scores[name] = flagged && name === 'violence' ? 0.91 : 0.0001;
      applied[name] = ['text'];
    }
    return { flagged, categories, category_scores: scores, category_applied_input_types: applied };
  });
  const model = answeredModel(ctx, str(ctx.json.model) ?? 'omni-moderation-latest');
  return json({ id: newId('modr-'), model, results });
}

export const FAKE_MODELS: ReadonlyArray<{ id: string; created: number; owned_by: string }> = [
  { id: 'gpt-4o-mini', created: 1721172741, owned_by: 'system' },
  { id: 'gpt-4o', created: 1715367049, owned_by: 'system' },
  { id: 'gpt-4.1', created: 1744316542, owned_by: 'system' },
  { id: 'gpt-4.1-mini', created: 1744318173, owned_by: 'system' },
  { id: 'o3-mini', created: 1737146383, owned_by: 'system' },
  { id: 'gpt-3.5-turbo-instruct', created: 1692901427, owned_by: 'system' },
  { id: 'text-embedding-3-small', created: 1705948997, owned_by: 'system' },
  { id: 'text-embedding-3-large', created: 1705953180, owned_by: 'system' },
  { id: 'dall-e-3', created: 1698785189, owned_by: 'system' },
  { id: 'gpt-image-1', created: 1745517030, owned_by: 'system' },
  { id: 'whisper-1', created: 1677532384, owned_by: 'openai-internal' },
  { id: 'tts-1', created: 1681940951, owned_by: 'openai-internal' },
  { id: 'omni-moderation-latest', created: 1731689265, owned_by: 'system' },
];

const modelObject = (m: (typeof FAKE_MODELS)[number]) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.owned_by });

export function listModels(): Reply {
  return json({ object: 'list', data: FAKE_MODELS.map(modelObject) });
}

export function retrieveModel(ctx: HandlerContext): Reply {
  const model = FAKE_MODELS.find((m) => m.id === ctx.param);
  return model === undefined ? modelNotFoundReply(ctx.param ?? '') : json(modelObject(model));
}

export function uploadFile(ctx: HandlerContext): Reply {
  const file = ctx.multipart?.files.find((f) => f.field === 'file');
  if (file === undefined) return invalidRequest("Missing required parameter: 'file'.", 'file');
  const purpose = ctx.multipart?.fields.purpose;
  if (purpose === undefined) return invalidRequest("Missing required parameter: 'purpose'.", 'purpose');
  return json({
    object: 'file',
    id: newId('file-'),
    purpose,
    filename: file.filename,
    bytes: file.data.length,
    created_at: nowSeconds(),
    expires_at: null,
    status: 'processed',
    status_details: null,
  });
}

export function createFineTuningJob(ctx: HandlerContext): Reply {
  const model = str(ctx.json.model);
  const trainingFile = str(ctx.json.training_file);
  if (model === undefined) return invalidRequest("Missing required parameter: 'model'.", 'model');
  if (trainingFile === undefined) return invalidRequest("Missing required parameter: 'training_file'.", 'training_file');
  return json({
    object: 'fine_tuning.job',
    id: newId('ftjob-'),
    model: answeredModel(ctx, model),
    created_at: nowSeconds(),
    finished_at: null,
    fine_tuned_model: null,
    organization_id: 'org-fakeupstream',
    result_files: [],
    status: 'validating_files',
    validation_file: str(ctx.json.validation_file) ?? null,
    training_file: trainingFile,
    hyperparameters: { n_epochs: 'auto', batch_size: 'auto', learning_rate_multiplier: 'auto' },
    trained_tokens: null,
    error: null,
    seed: 42,
    estimated_finish: null,
    integrations: [],
    metadata: null,
  });
}

/**
 * POST /realtime/client_secrets: an ephemeral key for the session the body describes (OpenAI's default model when it
 * names none), which the app's client then uses against the provider directly.
 */
export function realtimeClientSecret(ctx: HandlerContext): Reply {
  const session = isObject(ctx.json.session) ? ctx.json.session : {};
  const type = str(session.type) ?? 'realtime';
  const model = str(session.model) ?? (type === 'realtime' ? 'gpt-realtime' : null);
  const expiresAt = nowSeconds() + 600;
  return json({ value: `ek_${newId('').slice(0, 24)}`, expires_at: expiresAt, session: { ...session, type, id: newId('sess_'), object: 'realtime.session', model, expires_at: expiresAt } });
}

/**
 * POST /chatkit/sessions: a ChatKit session for `user` on a published Agent Builder workflow, with the client secret
 * the app's ChatKit front end then uses against the provider directly. The workflow runs whatever models it was
 * built with; the request names none.
 */
export function chatkitSession(ctx: HandlerContext): Reply {
  const user = str(ctx.json.user);
  const workflow = isObject(ctx.json.workflow) ? ctx.json.workflow : null;
  const workflowId = workflow === null ? undefined : str(workflow.id);
  if (user === undefined || workflowId === undefined) return invalidRequest("'user' and 'workflow.id' are required.", user === undefined ? 'user' : 'workflow');
  const expiresAt = nowSeconds() + 600;
  return json({
    id: newId('cksess_'),
    object: 'chatkit.session',
    client_secret: `ek_${newId('').slice(0, 24)}`,
    expires_at: expiresAt,
    max_requests_per_1_minute: 10,
    rate_limits: { max_requests_per_1_minute: 10 },
    status: 'active',
    user,
    workflow: { id: workflowId, state_variables: null, tracing: { enabled: true }, version: null },
    chatkit_configuration: { automatic_thread_titling: { enabled: true }, file_upload: { enabled: false, max_file_size: null, max_files: null }, history: { enabled: true, recent_threads: null } },
  });
}
