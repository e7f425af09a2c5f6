import { createHmac, randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeProjectKeySecret, type FakeAdminKey } from '../support/fake-openai-admin.js';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';

// The organisation webhook `secret_scanning_alert` at POST /leaks/github/webhook: HMAC-SHA256 over the raw body
// (X-Hub-Signature-256), the alert's secret fetched from a local fake of GitHub's REST API, the leaked OpenAI key
// revoked at the fake Admin API through the revocation flow. Anything unsigned, mis-signed, replayed or malformed
// changes nothing.

const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('hex')}`;
const GITHUB_TOKEN = `ghp_${randomBytes(18).toString('base64url')}`;

interface GitHubAlert {
  number: number;
  secret_type: string;
  secret: string;
  html_url: string;
}

let p: ProviderHarness;
let github: Server;
let githubUrl: string;
/** Alerts the fake GitHub serves, by `owner/repo#number`. */
const alerts = new Map<string, GitHubAlert>();
const githubRequests: Array<{ url: string; authorization: string | undefined }> = [];
let projectId: string;
let nextNumber = 1;

function signature(body: string | Buffer, secret = WEBHOOK_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Plants an alert at the fake GitHub and returns the webhook body GitHub would deliver for it (no secret in it). */
function alertFor(secret: string, repo = 'acme/payments', secretType = 'openai_api_key', action = 'created'): string {
  const number = nextNumber++;
  alerts.set(`${repo}#${number}`, { number, secret_type: secretType, secret, html_url: `https://github.com/${repo}/security/secret-scanning/${number}` });
  return JSON.stringify({
    action,
    alert: { number, secret_type: secretType, secret_type_display_name: 'OpenAI API Key', state: 'open', html_url: `https://github.com/${repo}/security/secret-scanning/${number}` },
    repository: { id: 1, name: repo.split('/')[1], full_name: repo, private: true },
    organization: { login: repo.split('/')[0] },
    sender: { login: 'github' },
  });
}

async function deliver(body: string | Buffer, headers: Record<string, string | undefined>): Promise<{ status: number; json: Record<string, unknown> }> {
  const clean = Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined));
  const res = await fetch(`${p.h.server.url}/leaks/github/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...clean }, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const headersFor = (body: string, delivery = randomBytes(8).toString('hex')): Record<string, string> => ({
  'x-hub-signature-256': signature(body),
  'x-github-delivery': delivery,
  'x-github-event': 'secret_scanning_alert',
});

const live = (key: FakeAdminKey): boolean => p.admin.keys().some((k) => k.id === key.id);

beforeAll(async () => {
  github = createServer((req, res) => {
    githubRequests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const match = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)\/secret-scanning\/alerts\/(\d+)$/.exec(req.url ?? '');
    const found = match ? alerts.get(`${match[1] ?? ''}/${match[2] ?? ''}#${match[3] ?? ''}`) : undefined;
    if (req.headers.authorization !== `Bearer ${GITHUB_TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ message: 'Bad credentials' }));
    }
    if (!found) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ message: 'Not Found' }));
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...found, state: 'open', created_at: new Date().toISOString(), validity: 'active' }));
  });
  await new Promise<void>((resolve) => github.listen(0, '127.0.0.1', resolve));
  githubUrl = `http://127.0.0.1:${(github.address() as AddressInfo).port}/api/v3`;
  p = await startProviderHarness({
    harness: {
      config: { providers: { github: { webhook: { apiUrl: githubUrl } } } },
      env: { KEYWARDEN_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET, KEYWARDEN_GITHUB_TOKEN: GITHUB_TOKEN },
    },
  });
  expect(await p.connect()).toBe(200);
  projectId = p.admin.addProject('production');
});
afterAll(async () => {
  await p.close();
  github.closeAllConnections();
  await new Promise<void>((resolve) => github.close(() => resolve()));
});

describe('secret_scanning_alert webhook', () => {
  it('a valid delivery for a key of the organisation: alert fetched, key revoked at the provider, audited, alert raised; a replay changes nothing', async () => {
    const leaked = p.admin.addKey(projectId, { name: 'ci key' });
    const body = alertFor(leaked.secret);
    const headers = headersFor(body);
    const first = await deliver(body, headers);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ status: 'revoked', provider_key_id: leaked.id });
    expect(live(leaked)).toBe(false);
    expect(p.admin.deleted).toEqual([leaked.id]);
    expect(githubRequests.at(-1)?.url).toBe(`/api/v3/repos/acme/payments/secret-scanning/alerts/${nextNumber - 1}`);

    // Replay: same delivery id → same answer, no second fetch, no second delete.
    const fetches = githubRequests.length;
    const replay = await deliver(body, headers);
    expect(replay).toEqual(first);
    expect(githubRequests.length).toBe(fetches);
    expect(p.admin.deleted).toEqual([leaked.id]);

    const audit = JSON.stringify((await p.h.admin('GET', '/audit?limit=5000')).body);
    expect(audit).toContain('security.github_alert_received');
    expect(audit).toContain('provider.key_revoked');
    const raised = await p.h.admin<{ data: Array<{ detector: string; severity: string; message: string }> }>('GET', '/alerts?status=all');
    const alert = raised.body.data.find((a) => a.detector === 'github_secret_alert');
    expect(alert?.severity).toBe('critical');
    expect(alert?.message).toContain('acme/payments');
    // No secret anywhere: answers, audit, alerts, logs, files in the data directory.
    const files: string[] = [];
    for (const entry of await readdir(p.h.dataDir, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) files.push((await readFile(path.join(entry.parentPath, entry.name))).toString('latin1'));
    }
    for (const text of [JSON.stringify(first.json), audit, JSON.stringify(raised.body), p.h.logs(), files.join('\n')]) {
      expect(text).not.toContain(leaked.secret);
      expect(text).not.toContain(WEBHOOK_SECRET);
      expect(text).not.toContain(GITHUB_TOKEN);
      expect(text).not.toContain(p.admin.adminKey);
    }
  });

  it('missing, malformed and wrong signatures get 401 before anything is read or fetched', async () => {
    const leaked = p.admin.addKey(projectId);
    const body = alertFor(leaked.secret);
    const fetches = githubRequests.length;
    const base = headersFor(body);
    const attempts: Array<Record<string, string | undefined>> = [
      { ...base, 'x-hub-signature-256': undefined },
      { ...base, 'x-hub-signature-256': '' },
      { ...base, 'x-hub-signature-256': signature(body, 'another-secret') },
      { ...base, 'x-hub-signature-256': signature(`${body} `) },
      { ...base, 'x-hub-signature-256': signature(body).replace('sha256=', 'sha1=') },
      { ...base, 'x-hub-signature-256': `${signature(body)}00` },
      { ...base, 'x-hub-signature-256': signature(body).toUpperCase().replace('SHA256=', 'sha256=').slice(0, -1) },
      { ...base, 'x-hub-signature-256': 'sha256=' + 'g'.repeat(64) },
    ];
    for (const headers of attempts) {
      const answer = await deliver(body, headers);
      expect(answer.status).toBe(401);
      expect(answer.json).toMatchObject({ error: { code: 'invalid_signature', type: 'invalid_request_error' } });
    }
    // The body signed, then altered in transit.
    const tampered = body.replace('acme/payments', 'acme/paymentz');
    expect((await deliver(tampered, base)).status).toBe(401);
    expect(githubRequests.length).toBe(fetches);
    expect(live(leaked)).toBe(true);
  });

  it('malformed JSON and wrong shapes are 400; other events and actions are acknowledged and ignored', async () => {
    const leaked = p.admin.addKey(projectId);
    const fetches = githubRequests.length;
    for (const body of ['{"action":', 'null', '[]', JSON.stringify({ action: 'created', alert: { number: 'x' } }), JSON.stringify({ action: 'created', alert: { number: 1, secret_type: 'openai_api_key' }, repository: { full_name: '../../etc' } })]) {
      const answer = await deliver(body, headersFor(body));
      expect(answer.status).toBe(400);
      expect((answer.json.error as { code: string }).code).toMatch(/^(invalid_json|validation_failed)$/);
    }
    const resolved = alertFor(leaked.secret, 'acme/payments', 'openai_api_key', 'resolved');
    expect((await deliver(resolved, headersFor(resolved))).json).toMatchObject({ status: 'ignored' });
    const slack = alertFor('xoxb-1234567890-abcdefghij', 'acme/payments', 'slack_api_token');
    expect((await deliver(slack, headersFor(slack))).json).toMatchObject({ status: 'ignored' });
    const push = JSON.stringify({ ref: 'refs/heads/main' });
    const pushed = await deliver(push, { ...headersFor(push), 'x-github-event': 'push' });
    expect(pushed.status).toBe(202);
    const ping = JSON.stringify({ zen: 'Keep it logically awesome.' });
    expect((await deliver(ping, { ...headersFor(ping), 'x-github-event': 'ping' })).status).toBe(200);
    const noDelivery = alertFor(leaked.secret);
    expect((await deliver(noDelivery, { ...headersFor(noDelivery), 'x-github-delivery': undefined })).status).toBe(400);
    expect(githubRequests.length).toBe(fetches);
    expect(live(leaked)).toBe(true);
    // An oversized body is refused without being read whole.
    const huge = JSON.stringify({ action: 'created', pad: 'x'.repeat(2 * 1024 * 1024) });
    expect((await deliver(huge, headersFor(huge))).status).toBe(413);
  });

  it("another organisation's look-alike key is reported not ours and nothing is revoked", async () => {
    const ours = p.admin.addKey(projectId);
    // Same prefix and last four as ours, but a live key of another organisation.
    const lookAlike = `${ours.secret.slice(0, 10)}${fakeProjectKeySecret().slice(10, -4)}${ours.secret.slice(-4)}`;
    p.admin.addForeignLiveKey(lookAlike);
    const deletedBefore = [...p.admin.deleted];
    const body = alertFor(lookAlike, 'someone/else');
    const answer = await deliver(body, headersFor(body));
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: 'not_ours' });
    expect(live(ours)).toBe(true);
    expect(p.admin.deleted).toEqual(deletedBefore);
    const raised = await p.h.admin<{ data: Array<{ detector: string; severity: string; subject: string }> }>('GET', '/alerts?status=all');
    expect(raised.body.data.find((a) => a.subject.startsWith('github:someone/else'))?.severity).toBe('warning');
  });

  it('GitHub refusing the alert fetch: 502, nothing revoked, not remembered (a redelivery retries it)', async () => {
    const leaked = p.admin.addKey(projectId);
    const body = JSON.stringify({ action: 'created', alert: { number: 999_999, secret_type: 'openai_api_key' }, repository: { full_name: 'acme/missing' } });
    const headers = headersFor(body);
    const answer = await deliver(body, headers);
    expect(answer.status).toBe(502);
    expect((answer.json.error as { code: string }).code).toBe('github_alert_fetch_failed');
    expect(live(leaked)).toBe(true);
    // Now the alert exists: GitHub's redelivery (same delivery id) is processed.
    alerts.set('acme/missing#999999', { number: 999_999, secret_type: 'openai_api_key', secret: leaked.secret, html_url: 'https://github.com/acme/missing' });
    const redelivered = await deliver(body, headers);
    expect(redelivered.json).toMatchObject({ status: 'revoked' });
    expect(live(leaked)).toBe(false);
  });
});
