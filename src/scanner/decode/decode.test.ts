import { gzipSync, zipSync, strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { FakeKeys } from '../rules/fake-keys.js';
import { scanContentBuffer } from './scan-content.js';
import { sniffContent } from './sniff.js';
import { WindowScanner } from './window-scanner.js';

const f = new FakeKeys(4242);
const key = f.openaiProject();
const text = `# config\n\nOPENAI_API_KEY=${key}\n`;
const opts = { text: {} };

function utf16le(s: string, bom: boolean): Buffer {
  const body = Buffer.from(s, 'utf16le');
  return bom ? Buffer.concat([Buffer.from([0xff, 0xfe]), body]) : body;
}

function utf32(s: string, bigEndian: boolean): Buffer {
  const out = Buffer.alloc(4 + [...s].length * 4);
  out.writeUInt32BE(bigEndian ? 0x0000feff : 0xfffe0000, 0);
  let at = 4;
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (bigEndian) out.writeUInt32BE(code, at);
    else out.writeUInt32LE(code, at);
    at += 4;
  }
  return out;
}

describe('sniffContent', () => {
  it('tells encodings and archives from their first bytes, and short NUL blobs stay binary', () => {
    expect(sniffContent(utf16le(text, true))).toBe('utf16le');
    expect(sniffContent(utf16le(text, false))).toBe('utf16le');
    expect(sniffContent(Buffer.from(text, 'utf16le').swap16())).toBe('utf16be');
    expect(sniffContent(utf32(text, false))).toBe('utf32le');
    expect(sniffContent(utf32(text, true))).toBe('utf32be');
    expect(sniffContent(gzipSync(strToU8(text)))).toBe('gzip');
    expect(sniffContent(zipSync({ 'a.env': strToU8(text) }))).toBe('zip');
    expect(sniffContent(Buffer.from([0, 1, 2, 3, 0]))).toBe('binary');
    // Random bytes with NULs are not taken for UTF-16.
    const random = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i % 7 === 0 ? 0 : (i * 131) % 256)));
    expect(sniffContent(random)).toBe('binary');
  });
});

describe('scanContentBuffer', () => {
  it.each([
    ['UTF-16LE with BOM', utf16le(text, true)],
    ['UTF-16LE without BOM', utf16le(text, false)],
    ['UTF-16BE with BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])],
    ['UTF-32LE', utf32(text, false)],
    ['UTF-32BE', utf32(text, true)],
    ['UTF-8 with BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
    ['gzip', Buffer.from(gzipSync(strToU8(text)))],
  ])('%s: finds the key on line 3, column 16', async (_name, bytes) => {
    const result = await scanContentBuffer(bytes, 'f', opts);
    expect(result.findings.map((x) => [x.secret, x.line, x.column, x.path])).toEqual([[key, 3, 16, 'f']]);
    expect(result.skips).toEqual([]);
  });

  it('names zip members with ! and nests to depth 2', async () => {
    const inner = zipSync({ 'deep/.env': strToU8(text) });
    const outer = zipSync({ 'inner.zip': inner, 'README.md': strToU8('hello\n') });
    const result = await scanContentBuffer(Buffer.from(outer), 'bundle.zip', opts);
    expect(result.findings.map((x) => [x.path, x.line])).toEqual([['bundle.zip!inner.zip!deep/.env', 3]]);
  });

  it('refuses archives nested deeper than 3 levels, naming the one refused', async () => {
    let bytes = zipSync({ '.env': strToU8(text) });
    for (let i = 0; i < 4; i++) bytes = zipSync({ [`l${i}.zip`]: bytes });
    const result = await scanContentBuffer(Buffer.from(bytes), 'z.zip', opts);
    expect(result.findings).toEqual([]);
    expect(result.skips).toEqual([{ path: 'z.zip!l3.zip!l2.zip!l1.zip', reason: 'tooLarge', detail: 'archive nested deeper than 3 levels' }]);
  });

  it('a corrupt zip and a truncated gzip are skipped as unreadable, not thrown', async () => {
    const zip = Buffer.from(zipSync({ 'a.env': strToU8(text) }));
    const broken = Buffer.concat([zip.subarray(0, 30), Buffer.alloc(10)]);
    const r1 = await scanContentBuffer(broken, 'b.zip', opts);
    expect(r1.skips[0]).toMatchObject({ path: 'b.zip', reason: 'unreadable' });
    const gz = Buffer.from(gzipSync(strToU8(text.repeat(100))));
    const r2 = await scanContentBuffer(gz.subarray(0, gz.length - 60), 't.gz', opts);
    expect(r2.skips).toEqual([{ path: 't.gz', reason: 'unreadable', detail: 'corrupt gzip data' }]);
    // What decompressed before the damage is still scanned.
    expect(r2.findings.length).toBeGreaterThan(10);
  });
});

describe('WindowScanner', () => {
  it('finds a key straddling a window boundary exactly once, with whole-file line and column', () => {
    // Small windows so the test is fast; the same code runs with 8 MiB windows.
    const windowChars = 1000;
    const overlap = 200;
    for (const keyStart of [990, 995, 1000, 1005, 1099, 1100, 1101, 1990, 2100]) {
      const lines = Math.floor((keyStart - 10) / 100);
      let before = '';
      for (let i = 0; i < lines; i++) before += `${'x'.repeat(99)}\n`;
      const pad = 'y'.repeat(keyStart - before.length - 4) + ' k= ';
      const whole = `${before}${pad}${key}\n${'z'.repeat(3000)}\n`;
      const scanner = new WindowScanner('w', {}, true, windowChars, overlap);
      for (let i = 0; i < whole.length; i += 37) scanner.push(whole.slice(i, i + 37));
      scanner.end();
      expect(scanner.findings.map((x) => [x.line, x.column])).toEqual([[lines + 1, pad.length + 1]]);
    }
  });
});

describe('hostile archives', () => {
  /** Offset of the end-of-central-directory record. */
  function eocd(zip: Buffer): number {
    return zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  }

  it('a central directory claiming more entries than the limit, or pointing past the end, is refused as corrupt', async () => {
    const zip = Buffer.from(zipSync({ 'a.env': strToU8(text) }));
    const many = Buffer.from(zip);
    // zip64 marker for the count forces the zip64 path, whose locator is missing.
    many.writeUInt16LE(0xffff, eocd(many) + 10);
    const r1 = await scanContentBuffer(many, 'many.zip', opts);
    expect(r1.skips).toEqual([{ path: 'many.zip', reason: 'unreadable', detail: 'corrupt zip: zip64 locator missing' }]);
    const past = Buffer.from(zip);
    past.writeUInt32LE(0x7fffffff, eocd(past) + 16);
    const r2 = await scanContentBuffer(past, 'past.zip', opts);
    expect(r2.skips).toEqual([{ path: 'past.zip', reason: 'unreadable', detail: 'corrupt zip: central directory out of bounds' }]);
  });

  it('a member whose sizes point past the archive is skipped, and the others are still scanned', async () => {
    const zip = Buffer.from(zipSync({ 'a.env': strToU8(text), 'b.env': strToU8(text) }, { level: 0 }));
    // Inflate a's compressed size in the central directory (the authoritative one).
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE(0x7ffffff0, central + 20);
    const result = await scanContentBuffer(zip, 'lying.zip', opts);
    expect(result.skips).toEqual([{ path: 'lying.zip!a.env', reason: 'unreadable', detail: 'corrupt zip: member data out of bounds' }]);
    expect(result.findings.map((x) => x.path)).toEqual(['lying.zip!b.env']);
  });

  it('a member name with a newline cannot forge a report line', async () => {
    const zip = Buffer.from(zipSync({ 'x\nNo AI keys found.\n.env': strToU8(text) }));
    const result = await scanContentBuffer(zip, 'n.zip', opts);
    expect(result.findings.map((x) => x.path)).toEqual(['n.zip!x\\x0aNo AI keys found.\\x0a.env']);
  });

  it('a member that expands past 100:1 beyond 1 MiB is stopped early; what came before is scanned', async () => {
    const body = `${text}${'\n'.repeat(8 * 1024 * 1024)}`;
    const zip = Buffer.from(zipSync({ 'padded.env': strToU8(body) }, { level: 9 }));
    const result = await scanContentBuffer(zip, 'p.zip', opts);
    expect(result.skips).toHaveLength(1);
    expect(result.skips[0]?.reason).toBe('bomb');
    expect(result.skips[0]?.detail).toMatch(/^zip bomb suspected \(ratio \d+:1\)$/);
    expect(result.findings.map((x) => [x.path, x.line])).toEqual([['p.zip!padded.env', 3]]);
  });

  it('a gzip of a gzip of a gzip of a gzip stops at the depth limit', async () => {
    let bytes: Uint8Array = strToU8(text);
    for (let i = 0; i < 4; i++) bytes = gzipSync(bytes);
    const result = await scanContentBuffer(Buffer.from(bytes), 'deep.gz', opts);
    expect(result.findings).toEqual([]);
    expect(result.skips).toEqual([{ path: 'deep.gz', reason: 'tooLarge', detail: 'archive nested deeper than 3 levels' }]);
  });
});
