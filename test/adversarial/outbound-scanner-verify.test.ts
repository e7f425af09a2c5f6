import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundLookup } from '../../src/policy/outbound-connect.js';
import { runScan } from '../../src/scanner/run-scan.js';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';
import { cli, tempDir, writeFiles } from '../scanner/helpers.js';

const leaked = new FakeKeys(808).openaiProject();

interface Listener {
  server: Server;
  url: string;
  /** TCP connections accepted, whether or not a request followed. */
  connections: number;
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/** A local HTTP endpoint that answers every verification with the given status, counting connections. */
async function listener(status: number): Promise<Listener> {
  const state = { connections: 0, requests: [] as IncomingMessage[] };
  const server = createServer((req, res) => {
    state.requests.push(req);
    const body = status === 200 ? { data: [] } : { error: { code: 'invalid_api_key' } };
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.on('connection', () => (state.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    server,
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}

interface JsonReport {
  findings: Array<{ provider: string; verification: string; verificationDetail: string }>;
}

describe('scanner verification: a scanned repository cannot redirect secrets or decide the verdict', () => {
  // The attacker's collector says every key is live; the honest endpoint says this key is revoked.
  let attacker: Listener;
  let honest: Listener;
  beforeAll(async () => {
    attacker = await listener(200);
    honest = await listener(401);
  });
  afterAll(async () => {
    await attacker.close();
    await honest.close();
  });

  async function maliciousRepo(configName = 'keywarden.config.json'): Promise<string> {
    const dir = await tempDir('malicious');
    const everyProvider = { openai: attacker.url, anthropic: attacker.url, keywarden: attacker.url, 'azure-openai': attacker.url };
    const config = { scan: { verify: { timeoutMs: 2_000, baseUrls: everyProvider } } };
    await writeFiles(dir, {
      'app.env': `OPENAI_API_KEY=${leaked}\n`,
      [configName]: configName.endsWith('.json') ? JSON.stringify(config) : `scan:\n  verify:\n    baseUrls:\n${Object.entries(everyProvider).map(([k, v]) => `      ${k}: ${v}`).join('\n')}\n`,
      // A config deeper in the tree is not a config either.
      'sub/keywarden.config.json': JSON.stringify(config),
    });
    return dir;
  }

  it('the command-line override is used; the repo config endpoint receives nothing and does not decide the verdict', async () => {
    const dir = await maliciousRepo();
    const run = await cli(['scan', '--verify', '--verify-endpoint', `openai=${honest.url}`, '--format', 'json'], { cwd: dir, env: { XDG_CONFIG_HOME: dir } });
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(report.findings.length).toBeGreaterThan(0);
    for (const finding of report.findings) expect(finding.verification).toBe('invalid');
    expect(honest.requests.length).toBeGreaterThan(0);
    expect(honest.requests.every((req) => req.headers.authorization === `Bearer ${leaked}`)).toBe(true);
    expect(attacker.connections).toBe(0);
    expect(run.stderr).toMatch(/ignoring scan\.verify\.baseUrls from the project config/);
  });

  it('an explicit -c pointing at the repo file, and a YAML config, are ignored the same way', async () => {
    for (const name of ['keywarden.config.yaml', 'custom.json']) {
      const dir = await maliciousRepo(name);
      const args = ['scan', 'app.env', '--verify', '--verify-endpoint', `openai=${honest.url}`, '--format', 'json'];
      const run = await cli(name === 'custom.json' ? [...args, '-c', name] : args, { cwd: dir, env: { XDG_CONFIG_HOME: dir } });
      expect((JSON.parse(run.stdout) as JsonReport).findings.map((f) => f.verification)).toEqual(['invalid']);
    }
    expect(attacker.connections).toBe(0);
  });

  it('with no override at all, verification asks only the official host (resolver spy, nothing leaves the machine)', async () => {
    const dir = await maliciousRepo();
    const asked: string[] = [];
    // Stands in for DNS so the test makes no outside traffic: it records the name and answers "not found".
    const lookup: OutboundLookup = (hostname, _options, callback) => {
      asked.push(hostname);
      callback(Object.assign(new Error('offline test'), { code: 'ENOTFOUND' }), []);
    };
    const outcome = await runScan({ source: { kind: 'paths', paths: ['app.env'] }, cwd: dir, env: { XDG_CONFIG_HOME: dir }, gitignore: true, verify: true, verifyLookup: lookup });
    expect(outcome.findings.map((f) => [f.verification, f.verificationDetail])).toEqual([['unknown', 'network error']]);
    expect(asked).toEqual(['api.openai.com']);
    expect(attacker.connections).toBe(0);
    expect(outcome.warnings.join('\n')).toMatch(/ignoring scan\.verify\.baseUrls/);
  });

  it('an official host that resolves inside (hosts-file or DNS poisoning) is refused at connect time', async () => {
    const dir = await tempDir('poisoned');
    await writeFiles(dir, { 'app.env': `OPENAI_API_KEY=${leaked}\n` });
    const lookup: OutboundLookup = (_hostname, _options, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]);
    const outcome = await runScan({ source: { kind: 'paths', paths: ['app.env'] }, cwd: dir, env: { XDG_CONFIG_HOME: dir }, gitignore: true, verify: true, verifyLookup: lookup });
    expect(outcome.findings.map((f) => f.verificationDetail)).toEqual(['refused by the outbound policy']);
    expect(attacker.connections).toBe(0);
  });

  it('the user-level config override works and is the user\'s, not the repo\'s', async () => {
    const dir = await maliciousRepo();
    const home = await tempDir('xdg');
    await writeFiles(home, { 'keywarden/config.yaml': `scan:\n  verify:\n    baseUrls:\n      openai: ${honest.url}\n` });
    const before = honest.requests.length;
    const run = await cli(['scan', 'app.env', '--verify', '--format', 'json'], { cwd: dir, env: { XDG_CONFIG_HOME: home } });
    expect((JSON.parse(run.stdout) as JsonReport).findings.map((f) => f.verification)).toEqual(['invalid']);
    expect(honest.requests.length).toBe(before + 1);
    expect(attacker.connections).toBe(0);
  });

  it('refuses malformed or credential-bearing overrides with a usage error and sends nothing', async () => {
    const dir = await maliciousRepo();
    for (const bad of ['openai', 'nosuch=https://x.example', `openai=file:///etc/passwd`, `openai=http://user:pw@127.0.0.1:1/`, 'openai=not a url', `openai=${honest.url}#frag`]) {
      const before = honest.requests.length;
      const run = await cli(['scan', 'app.env', '--verify', '--verify-endpoint', bad, '--format', 'json'], { cwd: dir, env: { XDG_CONFIG_HOME: dir } });
      expect(run.status, bad).toBe(2);
      expect(run.stderr).not.toContain('user:pw');
      expect(honest.requests.length).toBe(before);
    }
    expect(attacker.connections).toBe(0);
  });
});
