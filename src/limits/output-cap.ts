import { KeywardenError } from '../errors/index.js';

/**
 * The output cap of a request, read only from the field its endpoint defines. OpenAI-compatible upstreams differ
 * in what they do with a field that is not theirs (ignore it and generate to the model's maximum) or with
 * `"max_tokens":"100"` (coerce it, or ignore it): either way the gateway would have priced a cap the upstream
 * never applied. So a cap field of another endpoint, or a cap, `n` or `best_of` that is not a positive integer,
 * is refused with a 400 naming the field.
 */
export type CapField = 'max_completion_tokens' | 'max_tokens' | 'max_output_tokens';

const CAP_FIELDS: readonly CapField[] = ['max_completion_tokens', 'max_tokens', 'max_output_tokens'];
/** Every top-level field readOutputCap reads: a body with none of them has the endpoint's defaults (outputCapOf). */
export const OUTPUT_CAP_FIELDS: readonly string[] = [...CAP_FIELDS, 'n', 'best_of'];

interface EndpointCaps {
  /** The field a cap is injected into. */
  inject: CapField;
  /** Fields this endpoint accepts as its cap. */
  accepted: readonly CapField[];
}

const CAPS_BY_PATH: Readonly<Record<string, EndpointCaps>> = {
  // max_tokens is the legacy name; both are accepted, but not with two different values.
  '/v1/chat/completions': { inject: 'max_completion_tokens', accepted: ['max_completion_tokens', 'max_tokens'] },
  '/v1/completions': { inject: 'max_tokens', accepted: ['max_tokens'] },
  '/v1/responses': { inject: 'max_output_tokens', accepted: ['max_output_tokens'] },
};
/** Endpoints without output tokens: any cap field there is foreign. */
const INPUT_ONLY_PATHS = new Set(['/v1/embeddings', '/v1/moderations']);

export interface OutputCap {
  /** Where a cap is injected for this endpoint; null where output is not priced by tokens. */
  capField: CapField | null;
  /** The cap per choice the request carries, or null. */
  cap: number | null;
  /** Choices generated (`n`, `best_of`): the cap is paid once per choice. */
  choices: number;
  inputOnly: boolean;
}

function positiveInteger(json: Record<string, unknown>, field: string): number | null {
  const value = json[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new KeywardenError('KW_BAD_REQUEST', { message: `"${field}" must be a positive integer.`, param: field });
  }
  return value;
}

/** What readOutputCap answers for a body without any of OUTPUT_CAP_FIELDS, by path: shared, read only. */
const WITHOUT_CAP_FIELDS = new Map<string, Readonly<OutputCap>>(
  [...Object.keys(CAPS_BY_PATH), ...INPUT_ONLY_PATHS].map((path) => [path, Object.freeze(readOutputCap(path, null))]),
);
const NOT_PRICED_BY_OUTPUT: Readonly<OutputCap> = Object.freeze({ capField: null, cap: null, choices: 1, inputOnly: false });

/**
 * readOutputCap for a body known to carry none of OUTPUT_CAP_FIELDS: nothing to read or check, and nothing
 * allocated (the answer depends on the path alone).
 */
export function outputCapWithoutFields(path: string): Readonly<OutputCap> {
  return WITHOUT_CAP_FIELDS.get(path) ?? NOT_PRICED_BY_OUTPUT;
}

/** Reads and checks the cap fields, `n` and `best_of` of a request to `path`. */
export function readOutputCap(path: string, json: Record<string, unknown> | null): OutputCap {
  const endpoint = CAPS_BY_PATH[path];
  const inputOnly = INPUT_ONLY_PATHS.has(path);
  if (!json) return { capField: endpoint?.inject ?? null, cap: null, choices: 1, inputOnly };
  if (!endpoint && !inputOnly) return { capField: null, cap: null, choices: 1, inputOnly };
  let cap: number | null = null;
  for (const field of CAP_FIELDS) {
    const value = positiveInteger(json, field);
    if (value === null) continue;
    if (!endpoint?.accepted.includes(field)) {
      throw new KeywardenError('KW_BAD_REQUEST', { message: `"${field}" is not a parameter of ${path}.`, param: field });
    }
    if (cap !== null && cap !== value) {
      throw new KeywardenError('KW_BAD_REQUEST', { message: `"max_tokens" and "max_completion_tokens" disagree; send one of them.`, param: field });
    }
    cap = value;
  }
  const choices = Math.max(positiveInteger(json, 'n') ?? 1, positiveInteger(json, 'best_of') ?? 1);
  return { capField: endpoint?.inject ?? null, cap, choices, inputOnly };
}
