import { describe, expect, it } from 'vitest';
import { scanText } from '../engine/engine.js';
import { FakeKeys } from '../rules/fake-keys.js';
import type { Finding } from '../types.js';
import { renderReport } from './index.js';

const f = new FakeKeys(8);
const key = f.openaiProject();
const findings: Finding[] = scanText(`OPENAI_API_KEY=${key}\n`, { path: 'src/a b.env' }).map((x) => ({
  ...x,
  commit: { sha: 'f'.repeat(40), author: 'Ann', email: 'ann@example.com', date: '2024-01-01T00:00:00Z' },
}));

describe('reporters', () => {
  it.each(['text', 'json', 'sarif'] as const)('masks secrets in %s by default and reveals them only on request', (format) => {
    const masked = renderReport(format, findings, { showSecrets: false, color: false });
    expect(masked).not.toContain(key);
    expect(masked).toContain(`sk-proj-…${key.slice(-4)}`);
    expect(renderReport(format, findings, { showSecrets: true, color: false })).toContain(key);
  });

  it('groups text output by file and shows the commit', () => {
    const text = renderReport('text', findings, { showSecrets: false, color: false });
    expect(text).toContain('src/a b.env');
    expect(text).toContain('1:16');
    expect(text).toContain(`commit ${'f'.repeat(12)} by Ann`);
    expect(text).toContain('1 AI key found in 1 file.');
  });

  it('writes SARIF with rules, relative URIs and the commit in partialFingerprints.commitSha', () => {
    // Full validation against the official SARIF schema runs in test/scanner/cli.test.ts.
    const log = JSON.parse(renderReport('sarif', findings, { showSecrets: false, color: false })) as {
      version: string;
      runs: Array<{
        tool: { driver: { rules: Array<{ id: string }> } };
        results: Array<{ ruleId: string; ruleIndex: number; partialFingerprints: Record<string, string>; locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }>;
      }>;
    };
    expect(log.version).toBe('2.1.0');
    const run = log.runs[0];
    const result = run?.results[0];
    expect(run?.tool.driver.rules[result?.ruleIndex ?? -1]?.id).toBe(result?.ruleId);
    expect(result?.partialFingerprints.commitSha).toBe('f'.repeat(40));
    expect(result?.locations[0]?.physicalLocation.artifactLocation.uri).toBe('src/a%20b.env');
  });
});

describe('progress bar', () => {
  it('draws items, bytes and rate on a TTY stream', async () => {
    const { PassThrough } = await import('node:stream');
    const { createProgressBar } = await import('./progress-bar.js');
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    let drawn = '';
    stream.on('data', (chunk: Buffer) => (drawn += chunk.toString('utf8')));
    const bar = createProgressBar(stream);
    bar.start(10, 'files');
    bar.advance(4, 3 * 1024 * 1024);
    bar.stop();
    expect(drawn).toContain('scanning');
    expect(drawn).toContain('/10 files');
    expect(drawn).toContain('3.0 MB');
  });
});
