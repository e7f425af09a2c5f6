import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';
import { cli, tempDir, writeFiles } from './helpers.js';

const f = new FakeKeys(404);
const keys = {
  live: f.openaiProject(),
  revoked: f.openaiProject(),
  forbidden: f.openaiProject(),
  slow: f.openaiProject(),
  html: f.openaiProject(),
  error: f.openaiProject(),
};
const anthropicLive = f.anthropic();

/** A local stand-in for provider APIs: it answers according to which key it is given. */
function fakeProviders(): Server {
  return createServer((req, res) => {
    const auth = req.headers.authorization?.replace(/^Bearer /, '') ?? req.headers['x-api-key'];
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.url !== '/v1/models' || req.method !== 'GET') return json(404, { error: 'not found' });
    if (auth === keys.live || (auth === anthropicLive && req.headers['anthropic-version'] !== undefined)) return json(200, { data: [] });
    if (auth === keys.revoked) return json(401, { error: { code: 'invalid_api_key' } });
    if (auth === keys.forbidden) return json(403, { error: { message: 'forbidden' } });
    if (auth === keys.html) return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Attention required</html>');
    if (auth === keys.error) return json(503, { error: 'overloaded' });
    if (auth === keys.slow) return setTimeout(() => json(200, { data: [] }), 3000).unref();
    return json(401, { error: 'unknown key' });
  });
}

describe('keywarden scan --verify', () => {
  let server: Server;
  let base = '';

  beforeAll(async () => {
    server = fakeProviders();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('classifies live, revoked, 403, timeout, HTML page and 5xx answers', async () => {
    const dir = await tempDir('verify');
    await writeFiles(dir, {
      'keys.env': Object.entries(keys).map(([name, key]) => `${name.toUpperCase()}_OPENAI_API_KEY=${key}`).join('\n'),
      'anthropic.env': `ANTHROPIC_API_KEY=${anthropicLive}\n`,
      'keywarden.config.json': JSON.stringify({ scan: { verify: { timeoutMs: 400, concurrency: 3 } } }),
    });
    // Endpoint overrides come from the user, never from the scanned project: OpenAI's on the command line,
    // Anthropic's from the user-level config.
    const home = await tempDir('verify-home');
    await writeFiles(home, { 'keywarden/config.yaml': `scan:\n  verify:\n    baseUrls:\n      anthropic: ${base}\n` });
    const run = await cli(['scan', '--verify', '--verify-endpoint', `openai=${base}`, '--format', 'json'], { cwd: dir, env: { XDG_CONFIG_HOME: home } });
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as { findings: Array<{ line: number; path: string; verification: string; verificationDetail: string }> };
    const byLine = report.findings.filter((x) => x.path === 'keys.env').map((x) => [x.line, x.verification, x.verificationDetail]);
    expect(byLine).toEqual([
      [1, 'live', 'HTTP 200'],
      [2, 'invalid', 'HTTP 401'],
      [3, 'unknown', 'HTTP 403'],
      [4, 'unknown', 'timeout'],
      [5, 'unknown', 'HTTP 200 with a non-JSON body'],
      [6, 'unknown', 'HTTP 503'],
    ]);
    expect(report.findings.find((x) => x.path === 'anthropic.env')?.verification).toBe('live');
    for (const key of Object.values(keys)) expect(run.stdout).not.toContain(key);
  });

  it('leaves findings unknown when the provider cannot be reached', async () => {
    const dir = await tempDir('verify-down');
    await writeFiles(dir, { 'k.env': `OPENAI_API_KEY=${keys.live}\n` });
    const run = await cli(['scan', '--verify', '--format', 'json'], { cwd: dir, env: { KEYWARDEN_VERIFY_URL_OPENAI: 'http://127.0.0.1:9', XDG_CONFIG_HOME: dir } });
    const report = JSON.parse(run.stdout) as { findings: Array<{ verification: string }> };
    expect(report.findings.map((x) => x.verification)).toEqual(['unknown']);
  });
});
