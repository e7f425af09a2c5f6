import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wantsJson } from '../../src/cli/error-output.js';
import { gatewayRootUrl } from '../../src/cli/gateway-url.js';
import { cli } from '../cli/run-cli.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { closedPortUrl } from '../support/fake-openai.js';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness.close();
});

describe('keywarden --version', () => {
  it('prints the package version with --version and -V, and help lists every command', async () => {
    const { version } = JSON.parse(await readFile(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(await cli(['--version'], {})).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
    expect(await cli(['-V'], {})).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
    const help = await cli(['--help'], {});
    expect(help.status).toBe(0);
    for (const command of ['serve', 'keys', 'scan', 'hook', 'init']) expect(help.stdout).toContain(command);
  });
});

describe('--json errors', () => {
  it('an unreachable gateway: one JSON error object on stdout, nothing on stderr, exit 2', async () => {
    const env = { KEYWARDEN_URL: await closedPortUrl(), KEYWARDEN_ADMIN_TOKEN: harness.adminToken };
    const run = await cli(['keys', 'list', '--json'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('');
    const body = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(body).toEqual({ error: { code: 'KW_UPSTREAM_UNAVAILABLE', message: expect.stringContaining('Cannot reach keywarden') as unknown } });
    // The admin token is never echoed back, in either rendering.
    expect(run.stdout).not.toContain(harness.adminToken);
    const text = await cli(['keys', 'list'], env);
    expect(text.stderr).toMatch(/^keywarden: Cannot reach keywarden .* \(KW_UPSTREAM_UNAVAILABLE\)\n$/);
    expect(text.stderr).not.toContain(harness.adminToken);
  });

  it('commander usage errors (unknown option, missing argument, unknown command) are JSON too', async () => {
    for (const argv of [['keys', 'list', '--json', '--bogus'], ['keys', 'show', '--json'], ['nope', '--json'], ['scan', '--json', '--format', 'xml']]) {
      const run = await cli(argv, {});
      expect(run.status, argv.join(' ')).toBe(2);
      expect(run.stderr, argv.join(' ')).toBe('');
      const body = JSON.parse(run.stdout) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('KW_USAGE');
      expect(body.error.message.length).toBeGreaterThan(5);
    }
    // Without --json commander still explains on stderr, in words.
    const plain = await cli(['keys', 'list', '--bogus'], {});
    expect(plain.status).toBe(2);
    expect(plain.stderr).toContain("unknown option '--bogus'");
  });

  it('--json counts only before `--`', () => {
    expect(wantsJson(['scan', '--json'])).toBe(true);
    expect(wantsJson(['scan', '--format=json'])).toBe(true);
    expect(wantsJson(['scan', '--', '--json'])).toBe(false);
    expect(wantsJson(['scan', '--jsonx'])).toBe(false);
  });
});

describe('KEYWARDEN_URL', () => {
  it('works as the root, the apps base URL (/v1) or the admin URL, with or without a trailing slash', async () => {
    const root = harness.server.url;
    for (const url of [root, `${root}/`, `${root}/v1`, `${root}/v1/`, `${root}/V1`, `${root}/admin/v1`, `${root}//v1//`, ` ${root}/v1 `]) {
      const run = await cli(['keys', 'list', '--json'], { KEYWARDEN_URL: url, KEYWARDEN_ADMIN_TOKEN: harness.adminToken });
      expect(run.status, `${url}: ${run.stdout}${run.stderr}`).toBe(0);
      expect(Array.isArray(JSON.parse(run.stdout))).toBe(true);
    }
  });

  it('strips one API suffix only, and keeps a path prefix the gateway is mounted under', () => {
    expect(gatewayRootUrl({})).toBe('http://127.0.0.1:8787');
    expect(gatewayRootUrl({ KEYWARDEN_URL: '' })).toBe('http://127.0.0.1:8787');
    expect(gatewayRootUrl({ KEYWARDEN_URL: 'https://gw.example.com/keywarden/v1' })).toBe('https://gw.example.com/keywarden');
    expect(gatewayRootUrl({ KEYWARDEN_URL: 'https://gw.example.com/v1/v1' })).toBe('https://gw.example.com/v1');
    expect(gatewayRootUrl({ KEYWARDEN_URL: 'https://gw.example.com/api' })).toBe('https://gw.example.com/api');
  });
});
