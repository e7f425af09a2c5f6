
/**
 * Adds fields to a JSON object body without re-serializing it: the new members are spliced in right after the
 * opening brace. Only for fields the object does not have yet (the caller checks), so no key is duplicated.
 * Re-serializing a 1 KB body costs more than the rest of the gateway's own work on a request.
 */
export function prependJsonFields(body: Buffer, fields: Readonly<Record<string, unknown>>): Buffer {
  let open = 0;
  while (open < body.length && body[open] !== 0x7b /* { */) open++;
  if (open === body.length) throw new Error('not a JSON object');
  let next = open + 1;
  while (next < body.length && (body[next] === 0x20 || body[next] === 0x0a || body[next] === 0x0d || body[next] === 0x09)) next++;
  const empty = body[next] === 0x7d; /* } */
  let members: Buffer;
  const known = frozenMembers.get(fields);
  if (known) members = empty ? known.alone : known.followed;
  else {
    const text = serializeMembers(fields);
    if (text === '') return body;
    // Only a deeply frozen set can be remembered: a mutable one could change after it was serialized.
    if (isDeeplyFrozen(fields)) {
      const both = { alone: Buffer.from(text), followed: Buffer.from(`${text},`) };
      frozenMembers.set(fields, both);
      members = empty ? both.alone : both.followed;
    } else members = Buffer.from(empty ? text : `${text},`); // a per-request set: only the form this body needs
  }
  // Two whole-buffer copies into the one output buffer and a byte or so: the body goes in shifted by the members'
  // length, its head (up to the brace) is written again in front of them, and the members fill the gap. A ranged
  // Buffer#copy or a subarray would make a view object per copy.
  const out = Buffer.allocUnsafe(body.length + members.length);
  out.set(body, members.length);
  for (let i = 0; i <= open; i++) out[i] = body[i] as number;
  out.set(members, open + 1);
  return out;
}

/** Frozen one-field sets by name and value, so their serialized members are cached too (bounded: values vary). */
const FIELD_SETS_MAX = 1024;
/** By field name, then by value: two lookups of a constant string and a number, no key string built per request. */
const fieldSets = new Map<string, Map<number, Readonly<Record<string, number>>>>();
let fieldSetCount = 0;

/**
 * `{ [name]: value }`, deeply frozen and shared: the output cap a budget injects is the same few values on almost
 * every request (the key's cap until the budget runs low), so prependJsonFields finds its bytes serialized already.
 */
export function frozenNumberField(name: string, value: number): Readonly<Record<string, number>> {
  let byValue = fieldSets.get(name);
  let set = byValue?.get(value);
  if (set === undefined) {
    if (fieldSetCount >= FIELD_SETS_MAX) {
      fieldSets.clear();
      fieldSetCount = 0;
      byValue = undefined;
    }
    if (byValue === undefined) {
      byValue = new Map();
      fieldSets.set(name, byValue);
    }
    set = Object.freeze({ [name]: value });
    byValue.set(value, set);
    fieldSetCount++;
  }
  return set;
}

interface Members {
  /** `"a":1,"b":2`, for an empty object. */
  alone: Buffer;
  /** The same with a trailing comma, before the object's own members. */
  followed: Buffer;
}

/** Serialized members of frozen field sets (the gateway's constant ones): computed once, not per request. */
const frozenMembers = new WeakMap<object, Members>();

/** `"a":1,"b":2` (no array or entry tuples: a set usually holds one field). */
function serializeMembers(fields: Readonly<Record<string, unknown>>): string {
  let text = '';
  for (const name in fields) {
    if (!Object.hasOwn(fields, name)) continue;
    const value = JSON.stringify(fields[name]);
    // undefined (and functions) have no JSON form: left out, as JSON.stringify leaves them out of an object.
    if (value === undefined) continue;
    text += `${text === '' ? '' : ','}${JSON.stringify(name)}:${value}`;
  }
  return text;
}

function isDeeplyFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeeplyFrozen);
}
