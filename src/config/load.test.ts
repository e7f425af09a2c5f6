import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { configJsonSchema } from './json-schema.js';
import { loadConfig, parseConfig } from './load.js';

describe('config', () => {
  it('fills defaults from an empty object', () => {
    const config = parseConfig({});
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8787 });
    expect(config.dataDir).toBe('.keywarden');
    expect(config.usage.flushIntervalMs).toBeLessThanOrEqual(100);
  });

  it('reports every error at once, each with its path, and rejects unknown keys', () => {
    let caught: unknown;
    try {
      parseConfig({ server: { port: 'eighty', bogus: 1 }, log: { level: 'loud' }, extra: true });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KeywardenError);
    const message = (caught as KeywardenError).message;
    expect(message).toContain('server.port');
    expect(message).toContain('server');
    expect(message).toContain('bogus');
    expect(message).toContain('log.level');
    expect(message).toContain('extra');
    expect((caught as KeywardenError).code).toBe('KW_CONFIG_INVALID');
  });

  it('layers file, then environment, then flags', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kw-config-'));
    const file = path.join(dir, 'kw.yaml');
    await writeFile(file, 'server:\n  port: 9000\n  host: 0.0.0.0\ndataDir: data\n');
    const config = await loadConfig({
      file,
      cwd: dir,
      env: { KEYWARDEN_PORT: '9100', KEYWARDEN_TRUSTED_PROXIES: '10.0.0.1, 10.1.0.0/16' },
      overrides: { 'server.host': '127.0.0.2' },
    });
    expect(config.server.port).toBe(9100);
    expect(config.server.host).toBe('127.0.0.2');
    expect(config.server.trustedProxies).toEqual(['10.0.0.1', '10.1.0.0/16']);
    expect(config.dataDir).toBe(path.join(dir, 'data'));
  });

  it('accepts the scanner section in the same file, validated by the scanner schema', () => {
    expect(parseConfig({ scan: { workers: 1 } }).scan?.workers).toBe(1);
    expect(() => parseConfig({ scan: { workers: -1 } })).toThrow(/scan\.workers/);
  });

  it('rejects a malformed env value with its path', async () => {
    await expect(loadConfig({ cwd: '/', env: { KEYWARDEN_PORT: 'abc' } })).rejects.toThrow(/server\.port/);
  });

  it('generates a JSON Schema for editors', () => {
    const schema = configJsonSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['server', 'dataDir', 'upstream', 'pricing']),
    );
  });
});
