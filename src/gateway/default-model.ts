import { matchObjectRoute } from './object-routes.js';

/**
 * Whether a request that names no model may still run one: the provider then picks its default (an image, a
 * moderation, a video) or one the gateway cannot read (a ChatKit session runs whatever its workflow uses). A key
 * limited to models must name one there, so its scope binds what runs.
 */

/** Groups of inference requests: their POSTs without a model run the provider's default. */
const INFERENCE_GROUPS: ReadonlySet<string> = new Set(['chat', 'completions', 'responses', 'embeddings', 'moderations', 'images', 'audio']);

/**
 * Groups whose POSTs run no model of the provider's choosing, or whose models another check reads: files, uploads
 * and containers store data; a batch's lines are checked one by one (batch-input.ts); vector stores, skills and
 * conversations hold data; assistants and fine-tuning jobs name their models when they are created (assistant runs
 * use the assistant's); eval samplers and graders are read by nested-models.ts, a Realtime session's models by
 * realtime-models.ts. Every other group counts as running a model: ChatKit, whose sessions run their workflow's
 * models, and any group OpenAI adds later, since the gateway cannot vouch for what it runs.
 */
const MODEL_FREE_GROUPS: ReadonlySet<string> = new Set([
  'files',
  'uploads',
  'batches',
  'vector_stores',
  'containers',
  'skills',
  'conversations',
  'assistants',
  'fine_tuning',
  'evals',
  'realtime',
  'models',
]);

/** Whether `group`'s requests are inference, whose bodies must be JSON (or multipart) that names a model. */
export function isInferenceGroup(group: string): boolean {
  return INFERENCE_GROUPS.has(group);
}

/**
 * True when a request to `path` (normalized, `/v1/…`) in `group` (as endpointGroupOf gave it) with `method`, naming
 * no model, would run one all the same. A POST on an object that exists (cancelling a background response, updating
 * a stored completion's metadata, remixing a video) runs none of its own choosing: the object's model was chosen,
 * and checked, when it was made.
 */
export function runsModelUnnamed(method: string, group: string, path: string): boolean {
  // Any letter case: a lenient upstream routes `/v1/Realtime/…` as `/v1/realtime/…`, whose own check then applies.
  if (method !== 'POST' || MODEL_FREE_GROUPS.has(group) || MODEL_FREE_GROUPS.has(group.toLowerCase())) return false;
  return matchObjectRoute(method, path)?.type !== 'object';
}
