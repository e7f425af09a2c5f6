import { isGroup } from '../policy/index.js';
import { isJsonObject } from '../util/json-object.js';

/**
 * Models a request runs besides its top-level `model`: a Responses image generation tool's (the provider's default
 * image model when it names none), and an eval's samplers and model graders (`data_source.model`,
 * `testing_criteria[].model`, graders nested in graders). A key limited to models is held to them as to the
 * top-level one, or it could reach any model through them.
 */
export interface NestedModels {
  models: string[];
  /** Something runs on the provider's default model because the body names none (an image tool without `model`). */
  defaulted: string | null;
}

/** Nothing nested: the usual answer, shared (compare with `===` to skip the check). */
export const NO_NESTED_MODELS: NestedModels = Object.freeze({ models: [], defaulted: null });
/** Bounds the walk on hostile bodies (the JSON was parsed already; the body cap bounds its size). */
const MAX_VISITED = 200_000;

/** A model as the scope check reads it: a non-string is checked as its JSON text, which no scope names. */
export function asModel(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `group`: the path's endpoint group, in any letter case (see isGroup). */
export function nestedModelsOf(group: string, json: Record<string, unknown> | null): NestedModels {
  if (json === null) return NO_NESTED_MODELS;
  if (isGroup(group, 'responses')) return imageToolModels(json);
  if (isGroup(group, 'evals')) return evalModels(json);
  return NO_NESTED_MODELS;
}

function imageToolModels(json: Record<string, unknown>): NestedModels {
  const tools = json.tools;
  if (!Array.isArray(tools)) return NO_NESTED_MODELS;
  let found: NestedModels | null = null;
  for (const tool of tools) {
    if (!isJsonObject(tool) || tool.type !== 'image_generation') continue;
    found ??= { models: [], defaulted: null };
    if (tool.model === undefined || tool.model === null) found.defaulted = 'the image_generation tool';
    else found.models.push(asModel(tool.model));
  }
  return found ?? NO_NESTED_MODELS;
}

/**
 * Every `model` in an eval or eval run body, at any depth, except inside inline dataset items (a `file_content`
 * source's `content`): those are the client's data, which may well have a field called `model`.
 */
function evalModels(json: Record<string, unknown>): NestedModels {
  const models: string[] = [];
  const stack: unknown[] = [json];
  for (let visited = 0; stack.length > 0; visited++) {
    if (visited > MAX_VISITED) {
      models.push('(a body too complex to check)');
      break;
    }
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'object' && item !== null) stack.push(item);
      continue;
    }
    if (!isJsonObject(value)) continue;
    const inlineData = value.type === 'file_content';
    for (const [key, child] of Object.entries(value)) {
      if (key === 'model' && child !== undefined && child !== null) models.push(asModel(child));
      else if (!(inlineData && key === 'content') && typeof child === 'object' && child !== null) stack.push(child);
    }
  }
  return models.length === 0 ? NO_NESTED_MODELS : { models, defaulted: null };
}
