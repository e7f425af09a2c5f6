
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
  const members = Object.entries(fields)
    .map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`)
    .join(',');
  return Buffer.concat([body.subarray(0, open + 1), Buffer.from(empty ? members : `${members},`), body.subarray(open + 1)]);
}
