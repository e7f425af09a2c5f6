/** The admin API of a gateway process at `url` (a spawned `keywarden serve`), called with one admin token. */
export function adminFetch(adminToken: string) {
  return async function admin<T>(url: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${url}/admin/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
}
