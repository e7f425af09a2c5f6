import { describe, expect, it } from 'vitest';
import { isCamelCaseIdentifier } from './identifiers.js';
import { FakeKeys } from './fake-keys.js';

describe('camelCase identifiers that start like a Hugging Face token', () => {
  it.each([
    'requiredCharacteristicTypesForDis',
    'shouldShowCharacteristicTypesLabel',
    'sensorCharacteristicTypeForServiceType',
  ])('recognises %s', (name) => {
    expect(isCamelCaseIdentifier(name)).toBe(true);
  });

  it.each([
    'RdeidRutJuADoVDqPyuIodVhcFnZIqXAfb', // starts with a capital
    'shouldShowCharacteristicTypesLABEL', // capitals side by side
    'aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH', // far too many capitals
    'requiredcharacteristictypesfordisp', // no capital at all: not camelCase
  ])('does not call %s an identifier', (name) => {
    expect(isCamelCaseIdentifier(name)).toBe(false);
  });

  it('never takes a random 34-letter token for an identifier (200,000 tokens)', () => {
    const f = new FakeKeys(34_034);
    let hits = 0;
    for (let i = 0; i < 200_000; i++) if (isCamelCaseIdentifier(f.huggingface().slice(3))) hits++;
    expect(hits).toBe(0);
  });
});
