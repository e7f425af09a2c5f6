import { describe, expect, it } from 'vitest';
import { isJsonObject, valueAtPath } from './json-object.js';

describe('JSON object helpers', () => {
  it('tells objects from null, arrays and primitives', () => {
    expect(isJsonObject({})).toBe(true);
    for (const value of [null, [], 'x', 1, undefined, true]) expect(isJsonObject(value)).toBe(false);
  });

  it('reads a nested path, and undefined wherever it breaks', () => {
    const body = { session: { audio: { input: { transcription: { model: 'm' } } } }, list: [{ model: 'n' }] };
    expect(valueAtPath(body, ['session', 'audio', 'input', 'transcription', 'model'])).toBe('m');
    expect(valueAtPath(body, ['session', 'missing', 'model'])).toBeUndefined();
    // Arrays are not walked by key, and a primitive on the way stops the walk.
    expect(valueAtPath(body, ['list', '0', 'model'])).toBeUndefined();
    expect(valueAtPath({ a: 'text' }, ['a', 'length'])).toBeUndefined();
    expect(valueAtPath(body, [])).toBe(body);
  });
});
