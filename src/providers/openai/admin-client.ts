import { Agent } from 'undici';
import type { z } from 'zod';
import { KeywardenError } from '../../errors/index.js';
import { guardedConnect, type OutboundLookup } from '../../policy/outbound-connect.js';
import type { OutboundPolicy } from '../../policy/outbound-url.js';
import {
  auditLogEntrySchema,
  createdServiceAccountKeySchema,
  createdServiceAccountSchema,
  cursorPageSchema,
  deletedSchema,
  projectApiKeySchema,
  projectSchema,
  serviceAccountSchema,
  usagePageSchema,
  type AuditLogEntry,
  type CreatedServiceAccount,
  type CreatedServiceAccountKey,
  type Project,
  type ProjectApiKey,
  type ServiceAccount,
  type UsageResult,
} from './admin-api-types.js';

export interface AdminClientOptions {
  /** e.g. https://api.openai.com/v1 (tests: the local fake). Checked against the outbound policy. */
  baseUrl: string;
  adminKey: string;
  outbound: OutboundPolicy;
  lookup?: OutboundLookup;
  /** Per request: time to response headers, and max idle time between body chunks. */
  timeoutMs?: number;
  /** Retries after a 429 or a 5xx; each waits for `retry-after` (capped) or an exponential back-off. */
  maxRetries?: number;
  /** Longest single wait honoured from a `retry-after` header. */
  maxRetryAfterMs?: number;
  /** Safety bound on pages followed per listing, so a hostile `has_more: true` forever cannot loop. */
  maxPages?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** A response body bigger than this is refused: an admin listing page is a few hundred KB at most. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const PAGE_LIMIT = 100;

export interface UsageWindow {
  /** Unix seconds, inclusive. */
  startTime: number;
  /** Unix seconds, exclusive. */
  endTime: number;
}

/** Parses `retry-after`: delta seconds or an HTTP date. Null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return null;
  if (/^\d+(\.\d+)?$/.test(raw.trim())) return Math.round(Number(raw) * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one client for OpenAI's Admin API. It pages (`after`/`has_more`/`last_id`, or `page`/`next_page` for usage),
 * backs off on 429 honouring `retry-after`, times out, caps bodies, and connects only where the outbound policy
 * allows. Errors never carry the admin key or the provider's raw body.
 */
export class OpenAIAdminClient {
  private readonly origin: string;
  private readonly basePath: string;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRetryAfterMs: number;
  private readonly maxPages: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AdminClientOptions) {
    const verdict = options.outbound.checkUrl(options.baseUrl);
    if (!verdict.ok) throw new KeywardenError('KW_VALIDATION', { message: `The provider base URL is not allowed: ${verdict.reason}.`, param: 'base_url' });
    this.origin = verdict.url.origin;
    this.basePath = verdict.url.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.maxRetries = options.maxRetries ?? 4;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.maxPages = options.maxPages ?? 1_000;
    this.sleep = options.sleep ?? defaultSleep;
    this.agent = new Agent({
      connect: guardedConnect(options.outbound, { timeout: this.timeoutMs, ...(options.lookup ? { lookup: options.lookup } : {}) }),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  listProjects(): Promise<Project[]> {
    return this.listAll('organization/projects', projectSchema, { include_archived: 'false' });
  }

  listProjectApiKeys(projectId: string): Promise<ProjectApiKey[]> {
    return this.listAll(`organization/projects/${encodeURIComponent(projectId)}/api_keys`, projectApiKeySchema);
  }

  listServiceAccounts(projectId: string): Promise<ServiceAccount[]> {
    return this.listAll(`organization/projects/${encodeURIComponent(projectId)}/service_accounts`, serviceAccountSchema);
  }

  async deleteProjectApiKey(projectId: string, keyId: string): Promise<boolean> {
    const body = await this.call('DELETE', `organization/projects/${encodeURIComponent(projectId)}/api_keys/${encodeURIComponent(keyId)}`);
    return this.parse(deletedSchema, body).deleted;
  }

  async deleteServiceAccount(projectId: string, serviceAccountId: string): Promise<boolean> {
    const body = await this.call('DELETE', `organization/projects/${encodeURIComponent(projectId)}/service_accounts/${encodeURIComponent(serviceAccountId)}`);
    return this.parse(deletedSchema, body).deleted;
  }

  /**
   * A new key for an existing service account (its other keys keep working): what rotation uses. Never retried
   * after a 5xx, which may have created a key: a second attempt could leave an orphan. The answer holds the
   * secret; callers seal it at once and never log the object.
   */
  async createServiceAccountKey(projectId: string, serviceAccountId: string, name: string): Promise<CreatedServiceAccountKey> {
    const path = `organization/projects/${encodeURIComponent(projectId)}/service_accounts/${encodeURIComponent(serviceAccountId)}/api_keys`;
    return this.parse(createdServiceAccountKeySchema, await this.call('POST', path, {}, { name }));
  }

  /** A new service account in a project, with its first key (`upstreams add --service-account`). */
  async createServiceAccount(projectId: string, name: string): Promise<CreatedServiceAccount> {
    const path = `organization/projects/${encodeURIComponent(projectId)}/service_accounts`;
    return this.parse(createdServiceAccountSchema, await this.call('POST', path, {}, { name }));
  }

  /** Completions usage in one window, summed per `api_key_id` across buckets and pages. */
  async completionsUsageByKey(window: UsageWindow): Promise<Map<string, UsageResult>> {
    const totals = new Map<string, UsageResult>();
    let page: string | null | undefined;
    for (let n = 0; n < this.maxPages; n++) {
      const query: Record<string, string> = {
        start_time: String(window.startTime),
        end_time: String(window.endTime),
        bucket_width: '1m',
        'group_by[]': 'api_key_id',
        limit: '1440',
      };
      if (page) query.page = page;
      const parsed = this.parse(usagePageSchema, await this.call('GET', 'organization/usage/completions', query));
      for (const bucket of parsed.data) {
        for (const result of bucket.results) {
          if (!result.api_key_id) continue;
          const sum = totals.get(result.api_key_id) ?? { input_tokens: 0, output_tokens: 0, num_model_requests: 0, api_key_id: result.api_key_id };
          sum.input_tokens += result.input_tokens;
          sum.output_tokens += result.output_tokens;
          sum.num_model_requests += result.num_model_requests;
          totals.set(result.api_key_id, sum);
        }
      }
      if (!parsed.has_more || !parsed.next_page) return totals;
      page = parsed.next_page;
    }
    throw new KeywardenError('KW_PROVIDER_FAILED', { message: `The provider's usage listing did not end after ${this.maxPages} pages.` });
  }

  /**
   * Asks OpenAI which project a (leaked) API key belongs to: one `GET /models` with that key, reading the
   * `openai-project` response header. `dead`: the key is refused (401), so there is nothing to revoke; `unknown`:
   * the answer says nothing (no header, another status, network trouble). The key is sent only to the connected
   * organisation's own API host and never logged.
   */
  async probeKeyProject(secret: string): Promise<{ kind: 'project'; projectId: string } | { kind: 'dead' } | { kind: 'unknown' }> {
    try {
      const res = await this.agent.request({ origin: this.origin, path: `${this.basePath}/models`, method: 'GET', headers: { authorization: `Bearer ${secret}` } });
      await res.body.dump({ limit: 1024 * 1024 }).catch(() => undefined);
      if (res.statusCode === 401) return { kind: 'dead' };
      const project = res.headers['openai-project'];
      const projectId = Array.isArray(project) ? project[0] : project;
      if (res.statusCode === 200 && typeof projectId === 'string' && projectId.length > 0 && projectId.length <= 200) return { kind: 'project', projectId };
      return { kind: 'unknown' };
    } catch {
      return { kind: 'unknown' };
    }
  }

  /** The most recent organisation audit log entries (one page; newest first). */
  async recentAuditLogs(limit = 100): Promise<AuditLogEntry[]> {
    const body = await this.call('GET', 'organization/audit_logs', { limit: String(Math.min(Math.max(limit, 1), 100)) });
    return this.parse(cursorPageSchema(auditLogEntrySchema), body).data;
  }

  private async listAll<T extends z.ZodType>(path: string, item: T, extra: Record<string, string> = {}): Promise<Array<z.output<T>>> {
    const out: Array<z.output<T>> = [];
    const seenCursors = new Set<string>();
    let after: string | null | undefined;
    for (let n = 0; n < this.maxPages; n++) {
      const query: Record<string, string> = { limit: String(PAGE_LIMIT), ...extra };
      if (after) query.after = after;
      const page = this.parse(cursorPageSchema(item), await this.call('GET', path, query));
      out.push(...page.data);
      if (!page.has_more) return out;
      const next = page.last_id ?? null;
      // A cursor that does not move would page forever; the listing is then incomplete, which is an error.
      if (next === null || seenCursors.has(next)) {
        throw new KeywardenError('KW_PROVIDER_FAILED', { message: `The provider's listing of ${path} repeated a page cursor.` });
      }
      seenCursors.add(next);
      after = next;
    }
    throw new KeywardenError('KW_PROVIDER_FAILED', { message: `The provider's listing of ${path} did not end after ${this.maxPages} pages.` });
  }

  private parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
    const result = schema.safeParse(body);
    if (!result.success) throw new KeywardenError('KW_PROVIDER_FAILED', { message: 'The provider admin API answered with an unexpected shape.' });
    return result.data;
  }

  private async call(method: 'GET' | 'DELETE' | 'POST', path: string, query: Record<string, string> = {}, json?: unknown): Promise<unknown> {
    const search = new URLSearchParams(query).toString();
    const fullPath = `${this.basePath}/${path}${search ? `?${search}` : ''}`;
    for (let attempt = 0; ; attempt++) {
      let status: number;
      let retryAfter: number | null;
      let text: string;
      try {
        const res = await this.agent.request({
          origin: this.origin,
          path: fullPath,
          method,
          headers: {
            authorization: `Bearer ${this.options.adminKey}`,
            accept: 'application/json',
            ...(json === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(json === undefined ? {} : { body: JSON.stringify(json) }),
        });
        status = res.statusCode;
        retryAfter = parseRetryAfter(res.headers['retry-after'], Date.now());
        text = await readCapped(res.body);
      } catch (err) {
        if (err instanceof KeywardenError) throw err;
        if (attempt < this.maxRetries && method === 'GET') {
          await this.sleep(this.backoff(attempt, null));
          continue;
        }
        const code = (err as { code?: unknown }).code;
        throw new KeywardenError('KW_PROVIDER_FAILED', {
          message: `The provider admin API could not be reached (${typeof code === 'string' ? code.slice(0, 40) : 'network error'}).`,
        });
      }
      // 429 means nothing was done, so even a DELETE may be retried; a 5xx may retry GETs only.
      const retryable = status === 429 || (status >= 500 && method === 'GET');
      if (retryable && attempt < this.maxRetries) {
        await this.sleep(this.backoff(attempt, retryAfter));
        continue;
      }
      if (status === 404 && method === 'DELETE') return { id: '', deleted: false };
      if (status < 200 || status >= 300) {
        throw new KeywardenError('KW_PROVIDER_FAILED', { message: `The provider admin API answered HTTP ${status} to ${method} ${path.split('?')[0] ?? ''}.` });
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new KeywardenError('KW_PROVIDER_FAILED', { message: 'The provider admin API answered with invalid JSON.' });
      }
    }
  }

  private backoff(attempt: number, retryAfter: number | null): number {
    if (retryAfter !== null) return Math.min(retryAfter, this.maxRetryAfterMs);
    return Math.min(250 * 2 ** attempt, this.maxRetryAfterMs);
  }
}

async function readCapped(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new KeywardenError('KW_PROVIDER_FAILED', { message: 'The provider admin API answer is too large.' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
