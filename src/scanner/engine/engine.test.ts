import { describe, expect, it } from 'vitest';
import { FakeKeys } from '../rules/fake-keys.js';
import { scanBytes, scanText, looksBinary } from './engine.js';

const f = new FakeKeys(99);
const proj = f.openaiProject();
const legacy = f.openaiLegacy();
const mistral = f.mistral();

describe('scanText', () => {
  it.each(['"', "'", '&', ')', ',', ';', '\n', '`', ' ', '>', ']', '}', '\\"'])('captures the full key before %j', (after) => {
    const findings = scanText(`key=${proj}${after}tail`);
    expect(findings.map((x) => x.secret)).toEqual([proj]);
  });

  it('captures a key at the very end of the file', () => {
    expect(scanText(`OPENAI_API_KEY=${legacy}`).map((x) => x.secret)).toEqual([legacy]);
  });

  it('reports 1-based line and UTF-16 columns, and a fingerprint that is the sha256 of the secret', () => {
    const [finding] = scanText(`one\ntwo ${proj}\n`, { path: 'a.txt' });
    expect(finding).toMatchObject({ path: 'a.txt', line: 2, column: 5, endColumn: 5 + proj.length, ruleId: 'openai-project-key' });
    expect(finding?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds keys after escapes: URL-encoded quotes, JSON \\n, \\u0022', () => {
    expect(scanText(`q=%7B%22k%22%3A%22${proj}%22%7D`).map((x) => x.secret)).toEqual([proj]);
    expect(scanText(`"source": ["x\\n${legacy}\\n"]`).map((x) => x.secret)).toEqual([legacy]);
    expect(scanText(`"\\u0022${legacy}\\u0022"`).map((x) => x.secret)).toEqual([legacy]);
    expect(scanText(`%22MISTRAL_API_KEY%22%3A%22${mistral}%22`).map((x) => x.secret)).toEqual([mistral]);
  });

  it('does not report a key glued to a word', () => {
    expect(scanText(`ta${proj}`)).toEqual([]);
  });

  it('finds keys inside base64 (Kubernetes Secret data) with the key name as context', () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const text = `kind: Secret\ndata:\n  OPENAI_API_KEY: ${b64(proj)}\n  MISTRAL_API_KEY: ${b64(mistral)}\n`;
    const findings = scanText(text);
    expect(findings.map((x) => [x.secret, x.encoding, x.line])).toEqual([
      [proj, 'base64', 3],
      [mistral, 'base64', 4],
    ]);
  });

  it('finds keys whose own separators were percent-encoded', () => {
    const encoded = proj.replace(/-/g, '%2D').replace(/_/g, '%5F');
    expect(scanText(`https://x.test/?k=${encoded}&a=1`).map((x) => [x.secret, x.encoding])).toEqual([[proj, 'url']]);
  });

  it('honours keywarden:allow on the same line only', () => {
    const text = `a=${proj} # keywarden:allow\nb=${legacy}\n`;
    expect(scanText(text).map((x) => x.secret)).toEqual([legacy]);
  });

  it('skips disabled rules and can turn decoding off', () => {
    expect(scanText(`k=${proj}`, { disabledRules: new Set(['openai-project-key']) })).toEqual([]);
    const b64 = Buffer.from(`k=${proj}`).toString('base64');
    expect(scanText(`data: ${b64}`, { decode: false })).toEqual([]);
    expect(scanText(`data: ${b64}`)).toHaveLength(1);
  });

  it('reports several keys on one line, each once', () => {
    const text = `${proj},${legacy},${proj}`;
    expect(scanText(text).map((x) => x.column)).toEqual([1, proj.length + 2, proj.length + legacy.length + 3]);
  });
});

describe('scanBytes', () => {
  it('corrects columns for UTF-8 text before the key', () => {
    const [finding] = scanBytes(Buffer.from(`é→ ${proj}`, 'utf8'));
    expect(finding?.column).toBe(4);
    expect(finding?.secret).toBe(proj);
  });

  it('detects binary content by NUL bytes', () => {
    expect(looksBinary(Buffer.from([0x41, 0x00, 0x42]))).toBe(true);
    expect(looksBinary(Buffer.from('plain text'))).toBe(false);
  });
});
