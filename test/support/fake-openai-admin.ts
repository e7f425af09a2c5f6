// A local fake of OpenAI's Admin API (organization/projects, project api_keys and service_accounts, usage/completions
// grouped by api_key_id, audit_logs) plus GET /v1/models for project keys (with the `openai-project` header), with the
// documented response shapes: cursor pagination (`after`, `has_more`,
// `first_id`, `last_id`), page-token pagination for usage (`page`, `next_page`), a 429 with `retry-after` now and
// then, and delete endpoints. State is in memory and inspected by the tests.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAdminKey {
  id: string;
  projectId: string;
  secret: string;
  name: string;
  ownerType: 'user' | 'service_account';
  serviceAccountId: string | null;
  createdAt: number;
  lastUsedAt: number | null;
}

interface FakeServiceAccount {
  id: string;
  projectId: string;
  name: string;
  createdAt: number;
}

interface UsageEvent {
  apiKeyId: string;
  /** Unix seconds. */
  ts: number;
  inputTokens: number;
  outputTokens: number;
  requests: number;
}

export interface FakeOpenAIAdminOptions {
  adminKey?: string;
  /** Every Nth request (1-based) is answered 429 with `retry-after: 0` (0 = never). */
  rateLimitEvery?: number;
  /** Items per page when the client does not ask for fewer (small, so tests cross pages). */
  pageSize?: number;
}

export interface FakeOpenAIAdmin {
  readonly url: string;
  readonly adminKey: string;
  /** Every request the fake received: method and path with query. */
  readonly requests: Array<{ method: string; url: string }>;
  /** Ids of deleted keys and service accounts, in order. */
  readonly deleted: string[];
  /** How many 429s were sent. */
  readonly throttled: number;
  addProject(name: string): string;
  addKey(projectId: string, options?: { secret?: string; name?: string; ownerEmail?: string; createdAt?: number; lastUsedAt?: number | null }): FakeAdminKey;
  addServiceAccountKey(projectId: string, name: string, secret?: string): FakeAdminKey;
  keys(): FakeAdminKey[];
  /** A live key of another organisation, served by the same API host (as api.openai.com serves every org). */
  addForeignLiveKey(secret: string): void;
  /** Records usage the provider served on a key (what it would bill), at `ts` unix seconds (default now). */
  addUsage(apiKeyId: string, usage: { inputTokens: number; outputTokens: number; requests: number; ts?: number }): void;
  setRateLimitEvery(n: number): void;
  /** Told the live project-key secrets after every create or delete (tests point the fake upstream at them). */
  onKeysChanged(listener: (secrets: string[]) => void): void;
  /** The next request whose `METHOD /path` matches answers `status` with an OpenAI-shaped error (once). */
  failNext(match: RegExp, status: number): void;
  close(): Promise<void>;
}

/** A realistic project key: `sk-proj-` + 156 base64url characters. */
export function fakeProjectKeySecret(): string {
  return `sk-proj-${randomBytes(117).toString('base64url')}`;
}

/** How OpenAI shows a key: the start, a mask, the last 4. */
export function redact(secret: string): string {
  return `${secret.slice(0, 10)}...${secret.slice(-4)}`;
}

const id = (prefix: string): string => `${prefix}${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`;

export async function startFakeOpenAIAdmin(options: FakeOpenAIAdminOptions = {}): Promise<FakeOpenAIAdmin> {
  const adminKey = options.adminKey ?? `sk-admin-${randomBytes(30).toString('base64url')}`;
  const pageSize = options.pageSize ?? 2;
  let rateLimitEvery = options.rateLimitEvery ?? 0;
  const projects: Array<{ id: string; name: string; createdAt: number }> = [];
  const keys: FakeAdminKey[] = [];
  const accounts: FakeServiceAccount[] = [];
  const usage: UsageEvent[] = [];
  /** Live keys of other organisations: the API answers them, naming their (foreign) project. */
  const foreign = new Map<string, string>();
  const requests: Array<{ method: string; url: string }> = [];
  const deleted: string[] = [];
  let count = 0;
  let throttled = 0;
  let keysListener: ((secrets: string[]) => void) | null = null;
  const failures: Array<{ match: RegExp; status: number }> = [];
  const keysChanged = (): void => keysListener?.(keys.map((k) => k.secret));
  /** Reads a JSON request body (small; the fake trusts its clients). */
  const jsonBody = (raw: string): Record<string, unknown> => {
    try {
      const parsed = JSON.parse(raw || '{}') as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  const nowS = (): number => Math.floor(Date.now() / 1000);

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, message: string, code: string | null = null): void =>
    send(res, status, { error: { message, type: 'invalid_request_error', param: null, code } });

  const page = <T extends { id: string }>(res: ServerResponse, query: URLSearchParams, items: readonly T[], view: (item: T) => unknown): void => {
    const limit = Math.min(Number(query.get('limit') ?? pageSize) || pageSize, pageSize);
    const after = query.get('after');
    const start = after === null ? 0 : items.findIndex((item) => item.id === after) + 1;
    const slice = items.slice(start, start + limit);
    send(res, 200, {
      object: 'list',
      data: slice.map(view),
      first_id: slice[0]?.id ?? null,
      last_id: slice.at(-1)?.id ?? null,
      has_more: start + limit < items.length,
    });
  };

  const keyView = (key: FakeAdminKey): unknown => {
    const account = accounts.find((a) => a.id === key.serviceAccountId);
    return {
      object: 'organization.project.api_key',
      redacted_value: redact(key.secret),
      name: key.name,
      created_at: key.createdAt,
      last_used_at: key.lastUsedAt,
      id: key.id,
      owner:
        key.ownerType === 'service_account' && account
          ? { type: 'service_account', service_account: { object: 'organization.project.service_account', id: account.id, name: account.name, role: 'member', created_at: account.createdAt } }
          : { type: 'user', user: { object: 'organization.project.user', id: 'user_fake', name: 'Dev One', email: key.name.includes('@') ? key.name : 'dev@example.com', role: 'owner', added_at: key.createdAt } },
    };
  };

  const handle = (req: IncomingMessage, res: ServerResponse, rawBody: string): void => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push({ method: req.method ?? 'GET', url: `${url.pathname}${url.search}` });
    count++;
    const failure = failures.findIndex((f) => f.match.test(`${req.method ?? 'GET'} ${url.pathname}`));
    if (failure !== -1) {
      const [{ status } = { status: 500 }] = failures.splice(failure, 1);
      return send(res, status, { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } });
    }
    if (url.pathname === '/v1/models') {
      // What the real API does for a project key: answers, and names the key's project in `openai-project`.
      const foreignProject = foreign.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (foreignProject !== undefined) return send(res, 200, { object: 'list', data: [] }, { 'openai-project': foreignProject });
      const presented = keys.find((k) => req.headers.authorization === `Bearer ${k.secret}`);
      if (!presented) return error(res, 401, 'Incorrect API key provided.', 'invalid_api_key');
      return send(res, 200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 0, owned_by: 'system' }] }, { 'openai-project': presented.projectId });
    }
    if (req.headers.authorization !== `Bearer ${adminKey}`) return error(res, 401, 'Invalid admin key.', 'invalid_api_key');
    if (rateLimitEvery > 0 && count % rateLimitEvery === 0) {
      throttled++;
      return send(res, 429, { error: { message: 'Rate limit reached.', type: 'requests', param: null, code: 'rate_limit_exceeded' } }, { 'retry-after': '0' });
    }
    const parts = url.pathname.replace(/^\/v1\//, '').split('/').map(decodeURIComponent);
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    if (parts[0] !== 'organization') return error(res, 404, 'Not found.');
    if (method === 'GET' && parts.length === 2 && parts[1] === 'projects') {
      return page(res, q, projects, (p) => ({ id: p.id, object: 'organization.project', name: p.name, created_at: p.createdAt, archived_at: null, status: 'active' }));
    }
    if (parts[1] === 'projects' && parts[2] !== undefined) {
      const project = projects.find((p) => p.id === parts[2]);
      if (!project) return error(res, 404, 'No such project.');
      if (parts[3] === 'api_keys') {
        const projectKeys = keys.filter((k) => k.projectId === project.id);
        if (method === 'GET' && parts.length === 4) return page(res, q, projectKeys, keyView);
        if (method === 'DELETE' && parts.length === 5) {
          const index = keys.findIndex((k) => k.id === parts[4] && k.projectId === project.id);
          if (index === -1) return error(res, 404, 'No such key.');
          // Documented: also deletes a key owned by a service account, leaving the account and its other keys.
          const [removed] = keys.splice(index, 1);
          deleted.push(removed?.id ?? '');
          keysChanged();
          return send(res, 200, { object: 'organization.project.api_key.deleted', id: parts[4], deleted: true });
        }
      }
      if (parts[3] === 'service_accounts') {
        const projectAccounts = accounts.filter((a) => a.projectId === project.id);
        if (method === 'GET' && parts.length === 4) {
          return page(res, q, projectAccounts, (a) => ({ object: 'organization.project.service_account', id: a.id, name: a.name, role: 'member', created_at: a.createdAt }));
        }
        if (method === 'POST' && parts.length === 4) {
          // Creates the account with its first key, answered unredacted once.
          const body = jsonBody(rawBody);
          if (typeof body.name !== 'string' || body.name.length === 0) return error(res, 400, 'name is required.');
          const account: FakeServiceAccount = { id: id('svc_acct_'), projectId: project.id, name: body.name, createdAt: nowS() };
          accounts.push(account);
          const key = newServiceAccountKey(account, 'Secret Key');
          return send(res, 200, {
            object: 'organization.project.service_account',
            id: account.id,
            name: account.name,
            role: 'member',
            created_at: account.createdAt,
            api_key: { object: 'organization.project.service_account.api_key', value: key.secret, name: key.name, created_at: key.createdAt, id: key.id },
          });
        }
        if (method === 'POST' && parts.length === 6 && parts[5] === 'api_keys') {
          const account = projectAccounts.find((a) => a.id === parts[4]);
          if (!account) return error(res, 404, 'No such service account.');
          const body = jsonBody(rawBody);
          const key = newServiceAccountKey(account, typeof body.name === 'string' ? body.name : 'Secret Key');
          return send(res, 200, { id: key.id, created_at: key.createdAt, name: key.name, object: 'organization.project.service_account.api_key', value: key.secret, expires_at: null });
        }
        if (method === 'DELETE' && parts.length === 5) {
          const index = accounts.findIndex((a) => a.id === parts[4] && a.projectId === project.id);
          if (index === -1) return error(res, 404, 'No such service account.');
          accounts.splice(index, 1);
          deleted.push(parts[4] ?? '');
          for (let i = keys.length - 1; i >= 0; i--) if (keys[i]?.serviceAccountId === parts[4]) keys.splice(i, 1);
          keysChanged();
          return send(res, 200, { object: 'organization.project.service_account.deleted', id: parts[4], deleted: true });
        }
      }
      return error(res, 404, 'Not found.');
    }
    if (method === 'GET' && parts[1] === 'usage' && parts[2] === 'completions') {
      const start = Number(q.get('start_time'));
      if (!Number.isFinite(start) || q.get('start_time') === null) return error(res, 400, 'start_time is required.');
      const end = q.get('end_time') === null ? nowS() + 1 : Number(q.get('end_time'));
      const byKey = q.getAll('group_by[]').includes('api_key_id') || q.getAll('group_by').includes('api_key_id');
      // One bucket per minute that has usage; two buckets per page so multi-page answers happen.
      const minutes = [...new Set(usage.filter((u) => u.ts >= start && u.ts < end).map((u) => Math.floor(u.ts / 60) * 60))].sort((a, b) => a - b);
      const offset = Number(q.get('page') ?? 0) || 0;
      const slice = minutes.slice(offset, offset + 2);
      const data = slice.map((minute) => {
        const inBucket = usage.filter((u) => u.ts >= Math.max(minute, start) && u.ts < Math.min(minute + 60, end));
        const groups = new Map<string, UsageEvent[]>();
        for (const u of inBucket) groups.set(byKey ? u.apiKeyId : '', [...(groups.get(byKey ? u.apiKeyId : '') ?? []), u]);
        return {
          object: 'bucket',
          start_time: minute,
          end_time: minute + 60,
          results: [...groups.entries()].map(([apiKeyId, events]) => ({
            object: 'organization.usage.completions.result',
            input_tokens: events.reduce((s, e) => s + e.inputTokens, 0),
            output_tokens: events.reduce((s, e) => s + e.outputTokens, 0),
            input_cached_tokens: 0,
            input_audio_tokens: 0,
            output_audio_tokens: 0,
            num_model_requests: events.reduce((s, e) => s + e.requests, 0),
            project_id: null,
            user_id: null,
            api_key_id: byKey ? apiKeyId : null,
            model: null,
            batch: null,
          })),
        };
      });
      const more = offset + 2 < minutes.length;
      return send(res, 200, { object: 'page', data, has_more: more, next_page: more ? String(offset + 2) : null });
    }
    if (method === 'GET' && parts[1] === 'audit_logs') {
      return page(res, q, deleted.map((d, i) => ({ id: `audit_log-${i}`, target: d })), (e) => ({ id: e.id, type: 'api_key.deleted', effective_at: nowS(), actor: { type: 'api_key' }, 'api_key.deleted': { id: e.target } }));
    }
    return error(res, 404, 'Not found.');
  };

  const newServiceAccountKey = (account: FakeServiceAccount, name: string): FakeAdminKey => {
    const key: FakeAdminKey = {
      id: id('key_'),
      projectId: account.projectId,
      secret: fakeProjectKeySecret().replace('sk-proj-', 'sk-svcacct-'),
      name,
      ownerType: 'service_account',
      serviceAccountId: account.id,
      createdAt: nowS(),
      lastUsedAt: null,
    };
    keys.push(key);
    keysChanged();
    return key;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    adminKey,
    requests,
    deleted,
    get throttled() {
      return throttled;
    },
    addProject(name) {
      const projectId = id('proj_');
      projects.push({ id: projectId, name, createdAt: nowS() - 86_400 * 400 });
      return projectId;
    },
    addKey(projectId, opts = {}) {
      const key: FakeAdminKey = {
        id: id('key_'),
        projectId,
        secret: opts.secret ?? fakeProjectKeySecret(),
        name: opts.name ?? opts.ownerEmail ?? 'dev key',
        ownerType: 'user',
        serviceAccountId: null,
        createdAt: opts.createdAt ?? nowS() - 86_400 * 100,
        lastUsedAt: opts.lastUsedAt === undefined ? nowS() - 3_600 : opts.lastUsedAt,
      };
      keys.push(key);
      keysChanged();
      return key;
    },
    addServiceAccountKey(projectId, name, secret) {
      const account: FakeServiceAccount = { id: id('svc_acct_'), projectId, name, createdAt: nowS() - 86_400 * 30 };
      accounts.push(account);
      const key: FakeAdminKey = {
        id: id('key_'),
        projectId,
        secret: secret ?? fakeProjectKeySecret().replace('sk-proj-', 'sk-svcacct-'),
        name: 'Secret Key',
        ownerType: 'service_account',
        serviceAccountId: account.id,
        createdAt: account.createdAt,
        lastUsedAt: null,
      };
      keys.push(key);
      keysChanged();
      return key;
    },
    keys: () => [...keys],
    addForeignLiveKey(secret) {
      foreign.set(secret, id('proj_'));
    },
    addUsage(apiKeyId, u) {
      usage.push({ apiKeyId, ts: u.ts ?? nowS(), inputTokens: u.inputTokens, outputTokens: u.outputTokens, requests: u.requests });
    },
    setRateLimitEvery(n) {
      rateLimitEvery = n;
    },
    onKeysChanged(listener) {
      keysListener = listener;
    },
    failNext(match, status) {
      failures.push({ match, status });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
