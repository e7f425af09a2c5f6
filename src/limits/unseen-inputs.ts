/**
 * Request features whose cost the gateway cannot see: the provider expands them server-side (stored history,
 * stored prompts, files fetched or looked up by id), runs them after the answer (background jobs), or bills them
 * per call on top of tokens (hosted tools). A budgeted key is refused these unless it opts in with a per-request
 * allowance (`limits.unbounded_allowance_usd`), which is then reserved in full.
 */

/** Top-level fields that pull in server-side state or deferred work, by endpoint ('*' = any). */
const UNSEEN_FIELDS: ReadonlyArray<readonly [field: string, path: string]> = [
  ['previous_response_id', '*'],
  ['conversation', '*'],
  ['background', '*'],
  // On /v1/completions `prompt` is the text itself; on /v1/responses it names a stored prompt template.
  ['prompt', '/v1/responses'],
  ['web_search_options', '*'],
];

/** Every top-level field unseenTopLevel reads: a body with none of them has no unseen top-level input. */
export const UNSEEN_TOP_LEVEL_FIELDS: readonly string[] = [...UNSEEN_FIELDS.map(([field]) => field), 'service_tier', 'tools'];

/** Tool types billed as tokens of their visible definition; every other (hosted) tool bills per call. */
const BOUNDED_TOOL_TYPES = new Set(['function', 'custom']);
/** Content parts the gateway cannot size: files (by id, URL or inline), audio, references to stored items. */
const UNSEEN_PART_TYPES = new Set(['input_file', 'file', 'input_audio', 'item_reference']);
/** Service tiers billed at the standard list price (or below). */
const LIST_PRICE_TIERS = new Set(['auto', 'default', 'flex']);

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false;
}

/** Top-level unseen fields and hosted tools; content parts are found by the content walk. */
export function unseenTopLevel(path: string, json: Record<string, unknown>): string | null {
  for (const [field, where] of UNSEEN_FIELDS) {
    if ((where === '*' || where === path) && present(json[field])) return field;
  }
  const tier = json.service_tier;
  if (present(tier) && !(typeof tier === 'string' && LIST_PRICE_TIERS.has(tier))) return 'service_tier';
  const tools = json.tools;
  if (tools !== undefined && tools !== null) {
    if (!Array.isArray(tools)) return 'tools';
    for (const tool of tools) {
      const type = typeof tool === 'object' && tool !== null ? (tool as Record<string, unknown>).type : undefined;
      if (typeof type !== 'string' || !BOUNDED_TOOL_TYPES.has(type)) return `tools (${typeof type === 'string' ? type.slice(0, 40) : 'untyped'})`;
    }
  }
  return null;
}

/** The name of an unseen content part type, or null. */
export function unseenPartType(type: unknown): string | null {
  return typeof type === 'string' && UNSEEN_PART_TYPES.has(type) ? type : null;
}
