import { createHmac, timingSafeEqual } from 'node:crypto';
import { Agent } from 'undici';
import { z } from 'zod';
import type { AuditLog } from '../../audit/index.js';
import { asKeywardenError } from '../../errors/index.js';
import { maskSecret } from '../../keys/index.js';
import type { Logger } from '../../log/logger.js';
import type { AlertService } from '../../monitor/alert-service.js';
import { guardedConnect, type OutboundLookup } from '../../policy/outbound-connect.js';
import type { OutboundPolicy } from '../../policy/outbound-url.js';
import type { ProvidersConfig } from '../config.js';
import type { LeakOutcome, LeakReportService } from '../leak-report-service.js';

/** The part of a `secret_scanning_alert` delivery keywarden reads (GitHub sends much more; extra fields are fine). */
const deliverySchema = z.object({
  action: z.string().min(1).max(50),
  alert: z.object({
    number: z.number().int().positive().max(1e9),
    secret_type: z.string().min(1).max(200),
    html_url: z.string().max(2_000).optional(),
  }),
  repository: z.object({ full_name: z.string().regex(/^[\w.-]{1,100}\/[\w.-]{1,100}$/) }),
  organization: z.object({ login: z.string().max(200) }).optional(),
});

/** `GET /repos/{owner}/{repo}/secret-scanning/alerts/{number}`: the alert with its `secret`. */
const alertSchema = z.object({
  number: z.number().int(),
  secret_type: z.string().max(200),
  secret: z.string().min(8).max(2_000),
  html_url: z.string().max(2_000).optional(),
});

export interface WebhookAnswer {
  status: number;
  body: unknown;
}

export interface GitHubAlertWebhookDeps {
  config: ProvidersConfig['github']['webhook'];
  env: NodeJS.ProcessEnv;
  leaks: LeakReportService;
  audit: AuditLog;
  alerts: AlertService | null;
  logger: Logger;
  outbound: OutboundPolicy;
  outboundLookup?: OutboundLookup;
}

const ACTOR = 'system:github-webhook';
const REPLAY_MEMORY = 5_000;
const MAX_ALERT_BYTES = 256 * 1024;
/** GitHub's secret types for OpenAI keys (`openai_api_key`, and any later `openai_…` variant). */
const isOpenAIType = (type: string): boolean => type.startsWith('openai_');

const error = (status: number, message: string, code: string, type = 'invalid_request_error'): WebhookAnswer => ({
  status,
  body: { error: { message, type, param: null, code } },
});

/**
 * The organisation webhook for `secret_scanning_alert`. The raw body must carry `X-Hub-Signature-256`, the
 * HMAC-SHA256 of the body under the webhook secret, checked in constant time before anything is parsed: missing or
 * wrong → 401 and nothing happens. For a created alert on an OpenAI key, the alert is fetched from GitHub's REST API
 * (the delivery itself never holds the secret), the key goes through the revocation flow (revoked / not ours /
 * ambiguous / failed), and the result is audited and raised as an alert. A delivery id seen before (GitHub's
 * redelivery, or a replay) gets the first answer again and changes nothing; failed deliveries are not remembered,
 * so a redelivery retries them.
 */
export class GitHubAlertWebhook {
  private readonly answered = new Map<string, WebhookAnswer>();
  private readonly inflight = new Map<string, Promise<WebhookAnswer>>();
  private readonly agent: Agent;
  private readonly api: URL;

  constructor(private readonly deps: GitHubAlertWebhookDeps) {
    const timeout = deps.config.timeoutMs;
    this.agent = new Agent({
      connect: guardedConnect(deps.outbound, { timeout, ...(deps.outboundLookup ? { lookup: deps.outboundLookup } : {}) }),
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    this.api = new URL(deps.config.apiUrl);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  async handle(body: Buffer, headers: { signature: string | undefined; delivery: string | undefined; event: string | undefined }): Promise<WebhookAnswer> {
    const secret = this.deps.env[this.deps.config.secretEnv];
    if (!secret) return error(503, 'The GitHub webhook is not configured on this gateway.', 'webhook_not_configured', 'server_error');
    if (!verifyHubSignature(body, secret, headers.signature)) return error(401, 'The X-Hub-Signature-256 signature does not verify.', 'invalid_signature');
    const delivery = headers.delivery;
    if (!delivery || !/^[\w-]{1,100}$/.test(delivery)) return error(400, 'X-GitHub-Delivery is missing or malformed.', 'invalid_delivery');
    const remembered = this.answered.get(delivery);
    if (remembered) return remembered;
    const running = this.inflight.get(delivery);
    if (running) return running;
    const work = this.process(body, delivery, headers.event).finally(() => this.inflight.delete(delivery));
    this.inflight.set(delivery, work);
    const answer = await work;
    if (answer.status < 500) {
      this.answered.set(delivery, answer);
      if (this.answered.size > REPLAY_MEMORY) this.answered.delete(this.answered.keys().next().value as string);
    }
    return answer;
  }

  private async process(body: Buffer, delivery: string, event: string | undefined): Promise<WebhookAnswer> {
    if (event === 'ping') return { status: 200, body: { object: 'github_webhook', delivery, status: 'pong' } };
    if (event !== 'secret_scanning_alert') return { status: 202, body: { object: 'github_webhook', delivery, status: 'ignored', detail: 'not a secret_scanning_alert event' } };
    let parsed: z.output<typeof deliverySchema>;
    try {
      const result = deliverySchema.safeParse(JSON.parse(body.toString('utf8')));
      if (!result.success) return error(400, 'The delivery is not a secret_scanning_alert payload.', 'validation_failed');
      parsed = result.data;
    } catch {
      return error(400, 'The delivery is not valid JSON.', 'invalid_json');
    }
    const { alert, repository } = parsed;
    const ignored = (detail: string): WebhookAnswer => ({ status: 202, body: { object: 'github_webhook', delivery, status: 'ignored', detail } });
    if (parsed.action !== 'created') return ignored(`action "${parsed.action}" needs nothing from keywarden`);
    if (!isOpenAIType(alert.secret_type)) return ignored(`secret type "${alert.secret_type}" is not an OpenAI key`);

    const where = { delivery, repository: repository.full_name, alert_number: alert.number, secret_type: alert.secret_type, alert_url: alert.html_url ?? null };
    let leaked: string;
    try {
      leaked = await this.fetchSecret(repository.full_name, alert.number);
    } catch (err) {
      const reason = err instanceof AlertFetchError ? err.message : 'the alert could not be fetched';
      await this.deps.audit.append({ actor: ACTOR, action: 'security.github_alert_received', target: `github:${repository.full_name}`, after: { ...where, status: 'failed', detail: reason } });
      await this.raise(where, null, `keywarden could not fetch the alert (${reason}); revoke the key by hand.`);
      return error(502, `The alert could not be fetched from GitHub: ${reason}.`, 'github_alert_fetch_failed', 'server_error');
    }
    const [outcome] = await this.deps.leaks.report({ leaks: [{ key: leaked, provider: 'openai', source: alert.html_url ?? `github:${repository.full_name}#${alert.number}` }], dry_run: false }, ACTOR);
    const result = outcome ?? null;
    await this.deps.audit.append({
      actor: ACTOR,
      action: 'security.github_alert_received',
      target: `github:${repository.full_name}`,
      after: { ...where, display: maskSecret(leaked), status: result?.status ?? 'failed', detail: result?.detail ?? 'no outcome', provider_key_id: result?.provider_key_id ?? null },
    });
    await this.raise(where, result, result?.detail ?? 'no outcome');
    return {
      status: 200,
      body: {
        object: 'github_webhook',
        delivery,
        status: result?.status ?? 'failed',
        display: maskSecret(leaked),
        detail: result?.detail ?? 'no outcome',
        provider_key_id: result?.provider_key_id ?? null,
      },
    };
  }

  private async fetchSecret(fullName: string, number: number): Promise<string> {
    const token = this.deps.env[this.deps.config.tokenEnv];
    if (!token) throw new AlertFetchError(`no GitHub token in ${this.deps.config.tokenEnv}`);
    const basePath = this.api.pathname.replace(/\/+$/, '');
    const [owner = '', repo = ''] = fullName.split('/');
    let res;
    try {
      res = await this.agent.request({
        origin: this.api.origin,
        path: `${basePath}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/secret-scanning/alerts/${number}`,
        method: 'GET',
        headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': 'keywarden' },
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new AlertFetchError(`GitHub could not be reached (${typeof code === 'string' ? code.slice(0, 40) : 'network error'})`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_ALERT_BYTES) throw new AlertFetchError('GitHub answered too much');
      chunks.push(chunk);
    }
    if (res.statusCode !== 200) throw new AlertFetchError(`GitHub answered HTTP ${res.statusCode}`);
    let parsed;
    try {
      parsed = alertSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      throw new AlertFetchError('GitHub answered invalid JSON');
    }
    if (!parsed.success || parsed.data.number !== number) throw new AlertFetchError('GitHub answered an unexpected alert shape');
    if (!isOpenAIType(parsed.data.secret_type)) throw new AlertFetchError(`the fetched alert is a "${parsed.data.secret_type}" secret`);
    return parsed.data.secret.trim();
  }

  private async raise(where: Record<string, string | number | null>, outcome: LeakOutcome | null, detail: string): Promise<void> {
    if (!this.deps.alerts) return;
    const status = outcome?.status ?? 'failed';
    const severity = status === 'not_ours' ? 'warning' : 'critical';
    try {
      await this.deps.alerts.raise(
        {
          detector: 'github_secret_alert',
          severity,
          subject: `github:${String(where.repository)}#${String(where.alert_number)}`,
          keyId: null,
          title: `GitHub found an OpenAI key in ${String(where.repository)}: ${status}`,
          message: `GitHub secret scanning alert #${String(where.alert_number)} in ${String(where.repository)} (${outcome?.display ?? 'key not fetched'}): ${status}, ${detail}.`,
          details: { ...where, status, display: outcome?.display ?? null, provider_key_id: outcome?.provider_key_id ?? null },
        },
        'alert',
        0,
      );
    } catch (err) {
      this.deps.logger.warn('could not raise the GitHub secret alert', { code: asKeywardenError(err).code });
    }
  }
}

class AlertFetchError extends Error {}

/** `sha256=<hex>` over the raw body, compared in constant time; false on anything missing or malformed. */
export function verifyHubSignature(body: Buffer, secret: string, header: string | undefined): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/i.test(header)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
