import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../../errors/index.js';
import { DEFAULT_SCAN_CONFIG } from './defaults.js';
import { loadScanConfig } from './load.js';
import { parseScanConfig } from './scan-config.js';

describe('scan config', () => {
  it('fills the same defaults with and without a config file', async () => {
    const config = parseScanConfig({});
    expect(config).toMatchObject({ decode: true, workers: 2, disableRules: [], verify: { timeoutMs: 5000, concurrency: 4 } });
    expect(config).toEqual(DEFAULT_SCAN_CONFIG);
    expect(await loadScanConfig(await mkdtemp(path.join(tmpdir(), 'kw-config-')))).toEqual(DEFAULT_SCAN_CONFIG);
  });

  it('reports every error together, each with its path', () => {
    let caught: unknown;
    try {
      parseScanConfig({ scan: { disableRules: ['nope'], maxFileSize: -1, verify: { baseUrls: { openai: 'not a url' }, bogus: 1 }, typo: true } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KeywardenError);
    const message = (caught as KeywardenError).message;
    for (const fragment of ['scan.disableRules.0', 'scan.maxFileSize', 'scan.verify.baseUrls.openai', 'bogus', 'typo']) {
      expect(message).toContain(fragment);
    }
    expect((caught as KeywardenError).code).toBe('KW_CONFIG_INVALID');
  });

  it('loads keywarden.config.yaml from the directory and leaves other sections to their owners', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kw-config-'));
    await writeFile(path.join(dir, 'keywarden.config.yaml'), 'server:\n  port: 9000\nscan:\n  disableRules: [google-api-key]\n  workers: 1\n');
    const config = await loadScanConfig(dir);
    expect(config.disableRules).toEqual(['google-api-key']);
    expect(config.workers).toBe(1);
  });

  it('rejects malformed JSON and a missing explicit file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kw-config-'));
    await writeFile(path.join(dir, 'keywarden.config.json'), '{ nope');
    await expect(loadScanConfig(dir)).rejects.toThrow(/not valid JSON/);
    await expect(loadScanConfig(dir, 'missing.json')).rejects.toThrow(/not found/);
  });
});
