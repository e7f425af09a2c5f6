import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { inspectContent } from './content-walk.js';
import { shapeRequest, type RequestShape } from './estimate.js';
import { OUTPUT_CAP_FIELDS, readOutputCap } from './output-cap.js';
import { UNSEEN_TOP_LEVEL_FIELDS, unseenTopLevel } from './unseen-inputs.js';

/** The sizing rules applied one by one, every field looked up: what shapeRequest must answer with or without its shortcut. */
function reference(path: string, json: Record<string, unknown>, bodyBytes: number, model: string): RequestShape {
  const caps = readOutputCap(path, json);
  const content = inspectContent(json, model);
  return {
    outputCap: caps.cap === null ? null : caps.cap * caps.choices,
    choices: caps.choices,
    capField: caps.capField,
    inputOnly: caps.inputOnly,
    imageTokens: content.imageTokens,
    inputBoundTokens: bodyBytes + content.imageTokens,
    unseen: unseenTopLevel(path, json) ?? content.unseenPart,
    extraOutputTokens: json.prediction !== undefined && json.prediction !== null ? bodyBytes : 0,
  };
}

function outcome(run: () => RequestShape): RequestShape | string {
  try {
    return run();
  } catch (err) {
    return err instanceof KeywardenError ? `${err.code}:${err.param ?? ''}` : 'other';
  }
}

const PATHS = ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/embeddings', '/v1/moderations', '/v1/images/generations', '/v1/files'];
const MESSAGES = [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'https://a/b.png', detail: 'low' } }] }];
/** A value per sizing field: valid, invalid, null and false, so both answers and refusals are compared. */
const VALUES: readonly unknown[] = [3, '3', null, false, 0, [{ type: 'web_search' }], [{ type: 'function' }], 'priority', { content: 'x' }];

describe('shapeRequest', () => {
  it('answers exactly as every rule applied in full, for bodies with and without each sizing field, on every endpoint', () => {
    const fields = [...OUTPUT_CAP_FIELDS, ...UNSEEN_TOP_LEVEL_FIELDS, 'prediction'];
    let compared = 0;
    for (const path of PATHS) {
      const bodies: Array<Record<string, unknown>> = [{ model: 'gpt-4o', messages: MESSAGES }, {}, { input: [{ type: 'input_file', file_id: 'f' }] }];
      for (const field of fields) for (const value of VALUES) bodies.push({ model: 'gpt-4o', messages: MESSAGES, [field]: value });
      // Two fields at once, in both orders: which refusal wins must not change either.
      bodies.push({ max_tokens: 5, max_completion_tokens: 6, n: 2 }, { n: 2, max_completion_tokens: 6, max_tokens: 5 }, { background: true, tools: [{ type: 'x' }] });
      for (const json of bodies) {
        const bytes = JSON.stringify(json).length;
        expect(outcome(() => shapeRequest(path, json, bytes, 'gpt-4o'))).toEqual(outcome(() => reference(path, json, bytes, 'gpt-4o')));
        compared++;
      }
    }
    expect(compared).toBe(PATHS.length * (3 + (OUTPUT_CAP_FIELDS.length + UNSEEN_TOP_LEVEL_FIELDS.length + 1) * VALUES.length + 3));
  });

  it('reads a sizing field on an object without a prototype, and answers for a body-less request by path', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { max_completion_tokens: 7, n: 2, background: true });
    expect(shapeRequest('/v1/chat/completions', bare, 40, 'gpt-4o')).toMatchObject({ outputCap: 14, choices: 2, unseen: 'background' });
    expect(shapeRequest('/v1/chat/completions', null, 0, null)).toMatchObject({ outputCap: null, choices: 1, capField: 'max_completion_tokens', inputOnly: false, unseen: null });
    expect(shapeRequest('/v1/embeddings', null, 0, null)).toMatchObject({ capField: null, inputOnly: true });
    expect(shapeRequest('/v1/files', null, 0, null)).toMatchObject({ capField: null, inputOnly: false });
  });
});
