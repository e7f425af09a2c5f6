import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageIntake } from '../../src/monitor/usage-intake.js';
import type { UsageRecord } from '../../src/store/index.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { cli } from './run-cli.js';

interface KeyJson {
  id: string;
  key: string;
  name: string;
  models: string[];
  endpoints: string[];
  ip_allowlist: string[];
  status: string;
}
interface ListedKey extends KeyJson {
  spend_today_usd: number;
  spend_month_usd: number;
  last_used_at: string | null;
}
interface ErrorBody {
  error: { message: string; code: string; type: string; param: string | null };
}

let h: Harness;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  h = await startHarness();
  env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken };
});
afterAll(() => h.close());

const keyCount = async (): Promise<number> => (await h.admin<{ data: unknown[] }>('GET', '/keys')).body.data.length;

async function createJson(args: string[]): Promise<KeyJson> {
  const run = await cli(['keys', 'create', ...args, '--json'], env);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout) as KeyJson;
}

describe('keys create/update refuse mistakes with exit 2 and a helpful message', () => {
  it('unknown endpoint groups, listing the valid ones (CLI and admin API)', async () => {
    const before = await keyCount();
    const run = await cli(['keys', 'create', '--name', 'typo', '--endpoints', 'chat,embedding'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('"embedding"');
    expect(run.stderr).toContain('did you mean "embeddings"');
    expect(run.stderr).toContain('chat, responses, completions, embeddings');
    expect(await cli(['keys', 'create', '--name', 'typo', '--endpoints', ' , '], env)).toMatchObject({ status: 2 });
    expect(await keyCount()).toBe(before);

    // Hand-made requests are refused too, on create and update, with every valid group named.
    for (const endpoints of [['chat', 'embedding'], ['Chat!'], ['fine-tuning'], ['__proto__'], ['']]) {
      const res = await h.admin<ErrorBody>('POST', '/keys', { name: 'raw', endpoints });
      expect(res.status, JSON.stringify(endpoints)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    const res = await h.admin<ErrorBody>('POST', '/keys', { name: 'raw', endpoints: ['embedding'] });
    expect(res.body.error.message).toContain('valid groups: chat, responses');
    const ok = await createJson(['--name', 'groups', '--endpoints', 'chat,fine_tuning']);
    expect((await h.admin<ErrorBody>('PATCH', `/keys/${ok.id}`, { endpoints: ['chats'] })).status).toBe(400);
    expect((await cli(['keys', 'update', ok.id, '--endpoints', 'chats'], env)).status).toBe(2);
    expect(await keyCount()).toBe(before + 1);
  });

  it('past expiry dates (CLI and admin API), while future ones and durations pass', async () => {
    const before = await keyCount();
    for (const when of ['2020-01-01', '0s', '1999-12-31T23:59:59Z']) {
      const run = await cli(['keys', 'create', '--name', 'old', '--expires', when], env);
      expect(run.status, when).toBe(2);
      expect(run.stderr).toMatch(/in the past/);
      const res = await h.admin<ErrorBody>('POST', '/keys', { name: 'old', expires: when });
      expect(res.status, when).toBe(400);
      expect(res.body.error.param).toBe('expires');
    }
    expect((await h.admin<ErrorBody>('POST', '/keys', { name: 'old', expires: Date.now() - 1000 })).status).toBe(400);
    expect((await cli(['keys', 'create', '--name', 'old', '--expires', 'tomorrow'], env)).status).toBe(2);
    expect(await keyCount()).toBe(before);
    const key = await createJson(['--name', 'future', '--expires', '2099-01-01']);
    expect((await cli(['keys', 'update', key.id, '--expires', '2020-01-01'], env)).status).toBe(2);
    expect((await h.admin<{ status: string }>('GET', `/keys/${key.id}`)).body.status).toBe('active');
  });

  it("--models '' is an error, not 'all models'; '*' is the way to say all", async () => {
    const before = await keyCount();
    for (const models of ['', ' ', ',', ' , ,']) {
      const run = await cli(['keys', 'create', '--name', 'empty', '--models', models], env);
      expect(run.status, JSON.stringify(models)).toBe(2);
      expect(run.stderr).toContain("'*'");
    }
    expect(await keyCount()).toBe(before);
    const all = await createJson(['--name', 'all', '--models', '*']);
    expect(all.models).toEqual([]);
    const narrowed = await cli(['keys', 'update', all.id, '--models', ''], env);
    expect(narrowed.status).toBe(2);
    expect((await h.admin<KeyJson>('GET', `/keys/${all.id}`)).body.models).toEqual([]);
  });

  it('a model glob that matches no known model warns on stderr but proceeds', async () => {
    const run = await cli(['keys', 'create', '--name', 'gtp', '--models', 'gtp-4o-mini,gpt-4.1*', '--json'], env);
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('"gtp-4o-mini" matches no known model');
    expect(run.stderr).not.toContain('gpt-4.1*');
    expect((JSON.parse(run.stdout) as KeyJson).models).toEqual(['gtp-4o-mini', 'gpt-4.1*']);
    // Known names, globs over them and dated snapshots are quiet.
    const quiet = await cli(['keys', 'create', '--name', 'ok', '--models', 'gpt-4o-mini,gpt-4o-mini-2024-07-18,o?-mini,text-embedding-*'], env);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
  });

  it('the README Quick start: warns that no embedding model is allowed; ip_not_allowed names the client IP', async () => {
    const run = await cli(
      ['keys', 'create', '--name', 'app', '--models', 'gpt-4o-mini,gpt-4.1*', '--endpoints', 'chat,embeddings', '--ip', '10.0.0.0/8', '--expires', '30d', '--json'],
      env,
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('no --models pattern matches an embedding model');
    const key = JSON.parse(run.stdout) as KeyJson;
    const err = await apiErrorOf(h.client(key.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.code).toBe('ip_not_allowed');
    expect(err.message).toContain('(127.0.0.1)');
    expect(err.message).not.toContain(key.key);

    // --ip any lifts the restriction; it cannot be mixed with addresses; garbage is refused.
    const opened = await cli(['keys', 'update', 'app', '--ip', 'any', '--json'], env);
    expect(opened.status).toBe(0);
    expect((JSON.parse(opened.stdout) as KeyJson).ip_allowlist).toEqual([]);
    const completion = await h.client(key.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices).toHaveLength(1);
    expect((await cli(['keys', 'update', 'app', '--ip', 'any,10.0.0.0/8'], env)).status).toBe(2);
    const bad = await cli(['keys', 'update', 'app', '--ip', '10.0.0.0/33'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('10.0.0.0/33');
  });

  it('an X-Forwarded-For hop that is not an address is not echoed in ip_not_allowed', async () => {
    const hostile = await startHarness({ config: { server: { trustedProxies: ['127.0.0.1'] } } });
    try {
      const { key } = await hostile.createKey({ ip_allowlist: ['10.0.0.0/8'] });
      const client = (xff: string): OpenAI => hostile.client(key, { defaultHeaders: { 'x-forwarded-for': xff } });
      const chat = (c: OpenAI): Promise<unknown> => c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect((await apiErrorOf(chat(client('203.0.113.7')))).message).toContain('(203.0.113.7)');
      const err = await apiErrorOf(chat(client('<script>alert(1)</script>')));
      expect(err.code).toBe('ip_not_allowed');
      expect(err.message).not.toContain('<script>');
      expect(err.message).toContain('(unknown)');
      expect((await apiErrorOf(chat(client('x'.repeat(5000))))).message.length).toBeLessThan(300);
    } finally {
      await hostile.close();
    }
  });
});

describe('keys by id or name', () => {
  it('resolves ids first, then unique names; ambiguous names list the ids (CLI exit 2, API 409)', async () => {
    const one = await createJson(['--name', 'by-name']);
    const shown = await cli(['keys', 'show', 'by-name', '--json'], env);
    expect(shown.status).toBe(0);
    expect((JSON.parse(shown.stdout) as KeyJson).id).toBe(one.id);
    expect((await cli(['keys', 'suspend', 'by-name', '--reason', 'test'], env)).status).toBe(0);
    expect((await cli(['keys', 'unsuspend', 'by-name'], env)).status).toBe(0);

    const twinA = await createJson(['--name', 'twin']);
    const twinB = await createJson(['--name', 'twin']);
    const ambiguous = await cli(['keys', 'revoke', 'twin'], env);
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.stderr).toContain(twinA.id);
    expect(ambiguous.stderr).toContain(twinB.id);
    const api = await h.admin<ErrorBody>('GET', '/keys/twin');
    expect(api.status).toBe(409);
    expect(api.body.error.message).toContain(twinA.id);
    // Both still work: the ambiguous revoke did nothing.
    expect((await h.admin<KeyJson>('GET', `/keys/${twinA.id}`)).body.status).toBe('active');
    expect((await h.admin<KeyJson>('GET', `/keys/${twinB.id}`)).body.status).toBe('active');
    // Once one is revoked, the name means the live one.
    expect((await cli(['keys', 'revoke', twinA.id], env)).status).toBe(0);
    expect((JSON.parse((await cli(['keys', 'show', 'twin', '--json'], env)).stdout) as KeyJson).id).toBe(twinB.id);

    // A key named like another key's id cannot capture it: ids win.
    const impostor = await createJson(['--name', one.id]);
    expect((JSON.parse((await cli(['keys', 'show', one.id, '--json'], env)).stdout) as KeyJson).id).toBe(one.id);
    expect(impostor.id).not.toBe(one.id);

    // Names with URL syntax in them reach the API intact.
    const odd = await createJson(['--name', 'a/b?c#d %2F']);
    expect((JSON.parse((await cli(['keys', 'show', 'a/b?c#d %2F', '--json'], env)).stdout) as KeyJson).id).toBe(odd.id);

    const missing = await cli(['keys', 'show', 'no-such-key'], env);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('No key with id or name "no-such-key"');
  });

  it('KEYWARDEN_URL works with or without /v1', async () => {
    for (const url of [h.server.url, `${h.server.url}/`, `${h.server.url}/v1`, `${h.server.url}/v1/`]) {
      const run = await cli(['keys', 'list', '--json'], { ...env, KEYWARDEN_URL: url });
      expect(run.status, url).toBe(0);
    }
  });
});

describe('keys list: spend today, this month, last use', () => {
  it('comes from one last-use query per page, with readable amounts, and counts only today and this month', async () => {
    const used = await createJson(['--name', 'spender']);
    const idle = await createJson(['--name', 'idle']);
    const now = h.clock.now();
    const today = new Date(now);
    const dayStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
    const monthStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1);
    const record = (ts: number, costUsd: number | null): UsageRecord => ({
      id: randomUUID(), ts, keyId: used.id, upstreamId: null, endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', status: 200,
      stream: false, promptTokens: 10, cachedTokens: 0, completionTokens: 5, reasoningTokens: 0, costUsd, priceMissing: costUsd === null,
      latencyMs: 3, clientIp: '127.0.0.1', errorCode: null,
    });
    const records = [
      record(dayStart + 1, 0.0042),
      record(dayStart - 1, 0.5), // yesterday (this month unless today is the 1st)
      record(monthStart - 1, 7), // last month
      record(dayStart + 2, null), // unpriced
    ];
    await h.server.services.store.usage.insertMany(records);
    // Folded into the rollups as the monitor folds recorded usage: spend is read from them up to the rolled-up point.
    const intake = new UsageIntake();
    for (const r of records) intake.add(r);
    await h.server.services.store.monitorRepositories().rollups.apply(intake.drain().deltas);
    const activity = vi.spyOn(h.server.services.store.usage, 'lastUsedAt');
    const summarize = vi.spyOn(h.server.services.store.usage, 'summarize');
    const run = await cli(['keys', 'list', '--json'], env);
    expect(run.status).toBe(0);
    expect(activity).toHaveBeenCalledTimes(1);
    expect(summarize).not.toHaveBeenCalled();
    activity.mockRestore();
    summarize.mockRestore();
    const listed = JSON.parse(run.stdout) as ListedKey[];
    const spender = listed.find((k) => k.id === used.id) as ListedKey;
    expect(spender.spend_today_usd).toBeCloseTo(0.0042, 10);
    expect(spender.spend_month_usd).toBeCloseTo(dayStart === monthStart ? 0.0042 : 0.5042, 10);
    expect(spender.last_used_at).toBe(new Date(dayStart + 2).toISOString());
    expect(listed.find((k) => k.id === idle.id)).toMatchObject({ spend_today_usd: 0, spend_month_usd: 0, last_used_at: null });

    const table = await cli(['keys', 'list'], env);
    expect(table.stdout).toMatch(/SPEND TODAY\s+SPEND MONTH\s+LAST USED/);
    const line = table.stdout.split('\n').find((l) => l.includes(used.id)) as string;
    expect(line).toContain('$0.0042');
    expect(line).not.toContain(used.key);
  });

  it('usage shows key names beside ids and takes --key by name', async () => {
    const { key, id } = await createJson(['--name', 'usage-named']);
    await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await h.server.gateway.usage.flush();
    const table = await cli(['usage', '--group-by', 'key', '--key', 'usage-named'], env);
    expect(table.status).toBe(0);
    expect(table.stdout).toContain(`usage-named (${id})`);
    expect(table.stdout).not.toMatch(/\$0\.00(\s|$)/m);
    const json = JSON.parse((await cli(['usage', '--group-by', 'key', '--key', 'usage-named', '--json'], env)).stdout) as Array<{ keyId: string; keyName: string }>;
    expect(json).toEqual([expect.objectContaining({ keyId: id, keyName: 'usage-named' })]);
    const csv = await cli(['usage', '--group-by', 'key', '--key', id, '--csv'], env);
    expect(csv.stdout.split('\r\n')[0]).toBe('keyId,keyName,requests,errors,promptTokens,cachedTokens,completionTokens,reasoningTokens,costUsd,unpricedRequests');
    expect((await cli(['usage', '--key', 'nobody'], env)).status).toBe(2);
  });
});
