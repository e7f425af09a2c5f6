/**
 * Recognises program identifiers that happen to start like a key (`hf_requiredCharacteristicTypesFor…` from
 * Apple's HomeKit frameworks). A camelCase name is a lower-case word followed by capitalised words; random mixed-case
 * letters almost never look like that: they have about as many capitals as lower-case letters, often side by side.
 *
 * Odds for a random 34-letter body: at most MAX_CAPITALS capitals is ~2e-5 on its own, and the word structure
 * (first letter lower case, each capital followed by at least two lower-case letters) cuts that by another ~10×.
 */
const CAMEL_CASE = /^[a-z]{2,}(?:[A-Z][a-z]{2,})+$/;
const MAX_CAPITALS = 5;

export function isCamelCaseIdentifier(body: string): boolean {
  if (!CAMEL_CASE.test(body)) return false;
  let capitals = 0;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    if (code >= 0x41 && code <= 0x5a) capitals++;
  }
  return capitals <= MAX_CAPITALS;
}
