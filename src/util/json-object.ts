/** A parsed JSON value that is an object (not null, not an array): the shape every body walk looks for. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a path of nested objects (`["session", "model"]`), or undefined where one is missing. */
export function valueAtPath(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const key of path) value = isJsonObject(value) ? value[key] : undefined;
  return value;
}
