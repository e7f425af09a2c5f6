/**
 * Memoizes something derived from a key record per version of the key (id + updatedAt, which strictly increases
 * on every change), so hot paths compile scopes and limits once per change instead of once per request.
 */
export class KeyVersionCache<K extends { id: string; updatedAt: number }, T> {
  private readonly entries = new Map<string, { updatedAt: number; value: T }>();

  constructor(
    private readonly derive: (key: K) => T,
    private readonly maxEntries = 50_000,
  ) {}

  get(key: K): T {
    const hit = this.entries.get(key.id);
    if (hit && hit.updatedAt === key.updatedAt) return hit.value;
    const value = this.derive(key);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key.id, { updatedAt: key.updatedAt, value });
    return value;
  }
}
