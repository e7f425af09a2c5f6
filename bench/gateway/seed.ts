// Fills a gateway's store with canary keys and child keys through the admin API (the same path an operator uses),
// so the hot-path benchmark runs with them present (issue 12). A few requests in flight at once keep seeding
// 20,000 keys to seconds without turning it into a load test of the admin API.

export interface SeedCounts {
  canaryKeys: number;
  childKeys: number;
}

const IN_FLIGHT = 8;

type AdminPost = (route: string, body: unknown) => Promise<Record<string, unknown>>;

async function inParallel(count: number, one: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
}

/** Creates `canaryKeys` canary keys and `childKeys` children of one dedicated parent key. Returns the time taken. */
export async function seedKeys(post: AdminPost, counts: SeedCounts): Promise<{ ms: number }> {
  const started = Date.now();
  await inParallel(counts.canaryKeys, async (i) => {
    await post('/keys', { name: `bench canary ${i}`, canary: true });
  });
  if (counts.childKeys > 0) {
    const parent = await post('/keys', { name: 'bench parent of children' });
    if (typeof parent.id !== 'string') throw new Error('parent key creation returned no id');
    const route = `/keys/${encodeURIComponent(parent.id)}/children`;
    await inParallel(counts.childKeys, async (i) => {
      await post(route, { ttl: '24h', name: `bench child ${i}` });
    });
  }
  return { ms: Date.now() - started };
}
