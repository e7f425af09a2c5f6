/** JSON columns: parsed on read, serialized on write. Kept in one place so every repo treats them alike. */
export function toJson(value: unknown): string {
  return JSON.stringify(value);
}

export function fromJson<T>(text: string | null): T {
  return JSON.parse(text ?? 'null') as T;
}
