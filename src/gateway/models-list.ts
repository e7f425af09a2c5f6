import type { ModelMatcher } from '../policy/index.js';

/** Filters an OpenAI model list (`{object: 'list', data: [{id}]}`) down to the models a key may use. */
export function filterModelList(body: unknown, models: ModelMatcher): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const list = body as { data?: unknown };
  if (!Array.isArray(list.data)) return body;
  return {
    ...list,
    data: list.data.filter((entry: unknown) => {
      const id = (entry as { id?: unknown } | null)?.id;
      return typeof id === 'string' && models.allows(id);
    }),
  };
}

/** Azure has no OpenAI-shaped model list per deployment map; the gateway answers from its own mapping. */
export function syntheticModelList(modelIds: readonly string[], created: number): unknown {
  return {
    object: 'list',
    data: modelIds.map((id) => ({ id, object: 'model', created, owned_by: 'azure-openai' })),
  };
}
