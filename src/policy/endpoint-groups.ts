/**
 * Endpoint groups: what a key's `endpoints` scope grants. The defaults cover inference; groups that can exfiltrate
 * data or run up large bills in the background (fine-tuning, files, batches, …) stay off unless granted, because a
 * stolen key must not be able to fine-tune.
 */
export const DEFAULT_ENDPOINT_GROUPS = [
  'chat',
  'responses',
  'completions',
  'embeddings',
  'moderations',
  'images',
  'audio',
  'models',
] as const;

export const OPT_IN_ENDPOINT_GROUPS = [
  'files',
  'fine_tuning',
  'batches',
  'assistants',
  'vector_stores',
  'uploads',
  'realtime',
  'videos',
  'evals',
  'containers',
  'skills',
  'chatkit',
  // Not a path group: the explicit grant that DELETE /v1/models/{fine-tuned model} needs on top of ownership
  // (see gateway/object-ownership.ts). `*` does not imply it.
  'models:delete',
] as const;

export const KNOWN_ENDPOINT_GROUPS: readonly string[] = [...DEFAULT_ENDPOINT_GROUPS, ...OPT_IN_ENDPOINT_GROUPS];

/** Grants every group, including ones OpenAI adds later. */
export const ALL_ENDPOINT_GROUPS = '*';

const SEGMENT_TO_GROUP: Record<string, string> = {
  chat: 'chat',
  responses: 'responses',
  completions: 'completions',
  embeddings: 'embeddings',
  moderations: 'moderations',
  images: 'images',
  audio: 'audio',
  models: 'models',
  files: 'files',
  fine_tuning: 'fine_tuning',
  batches: 'batches',
  assistants: 'assistants',
  threads: 'assistants',
  vector_stores: 'vector_stores',
  uploads: 'uploads',
  realtime: 'realtime',
  videos: 'videos',
  evals: 'evals',
  containers: 'containers',
  skills: 'skills',
  chatkit: 'chatkit',
};

/**
 * The group of a normalized `/v1/...` path. Unknown first segments form their own group named after the
 * segment, which only an explicit grant (or `*`) opens.
 */
export function endpointGroupOf(v1Path: string): string {
  // The second segment, without splitting the whole path (this runs on every request).
  const start = v1Path.indexOf('/', 1) + 1;
  if (start === 0) return '';
  const end = v1Path.indexOf('/', start);
  const segment = end === -1 ? v1Path.slice(start) : v1Path.slice(start, end);
  return Object.hasOwn(SEGMENT_TO_GROUP, segment) ? (SEGMENT_TO_GROUP[segment] as string) : segment;
}

/**
 * Whether a group as endpointGroupOf gave it is the group `name` (lower-case) in any letter case: a lenient upstream
 * routes `/v1/Realtime/…` as `/v1/realtime/…`, so a check bound to one group must see every spelling. The usual
 * exact spelling costs one comparison.
 */
export function isGroup(group: string, name: string): boolean {
  return group === name || (group.length === name.length && group.toLowerCase() === name);
}

/**
 * The group no virtual key reaches, `*` included: the provider's administration (`/v1/organization/…`: users,
 * projects, their API keys, audit logs, costs) belongs to the operator, who manages it with keywarden's own provider
 * commands and an admin key of its own, never to an app.
 */
const NEVER_GRANTED_GROUP = 'organization';

export function isGroupGranted(granted: readonly string[], group: string): boolean {
  if (isGroup(group, NEVER_GRANTED_GROUP)) return false;
  return granted.includes(ALL_ENDPOINT_GROUPS) || granted.includes(group);
}
