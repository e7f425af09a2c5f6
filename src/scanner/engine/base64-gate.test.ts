import { describe, expect, it } from 'vitest';
import { FakeKeys } from '../rules/fake-keys.js';
import { decodedStart, worthDecoding } from './base64-gate.js';
import { scanText } from './engine.js';

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');

describe('base64 gate', () => {
  it('drops binary runs (hashes, images) without decoding them, keeps text that can start a key', () => {
    const f = new FakeKeys(12);
    const integrity = b64(Buffer.from(f.hex(128), 'hex'));
    expect(decodedStart(integrity, 0)).toBe('binary');
    expect(decodedStart(b64(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 0)).toBe('binary');
    expect(decodedStart(b64(f.groq()), 0)).toBe('key');
    expect(decodedStart(b64('{"auths":{}}'), 0)).toBe('text');
    expect(decodedStart('!!!!!!!!', 0)).toBe('binary'); // not base64 at all
  });

  it('decodes text that cannot start a key only where the name before it says secret, auth or config', () => {
    const doc = b64('{"note": "nothing to see here at all"}');
    expect(worthDecoding(`description: ${doc}`, 13, 13 + doc.length, 0)).toBe(false);
    expect(worthDecoding(`.dockerconfigjson: ${doc}`, 19, 19 + doc.length, 0)).toBe(true);
    // A leading `/` glued to the run is tried without it too.
    const key = b64(new FakeKeys(1).groq());
    expect(worthDecoding(`x /${key}`, 2, 3 + key.length, 0)).toBe(true);
  });

  it('still finds keys in a Kubernetes Secret, a .dockerconfigjson (base64 in base64) and a base64 env file', () => {
    const f = new FakeKeys(13);
    const groq = f.groq();
    const proj = f.openaiProject();
    const hf = f.huggingface();
    const docker = b64(JSON.stringify({ auths: { 'registry.example.com': { auth: b64(`user:${proj}`) } } }));
    const text = [
      `  GROQ_API_KEY: ${b64(groq)}`,
      `  .dockerconfigjson: ${docker}`,
      `ENV_FILE=${b64(`HF_TOKEN=${hf}\nLOG=info\n`)}`,
      `integrity sha512-${b64(Buffer.from(f.hex(128), 'hex'))}`,
    ].join('\n');
    const secrets = scanText(text).map((finding) => finding.secret);
    expect(secrets).toEqual(expect.arrayContaining([groq, proj, hf]));
    expect(secrets).toHaveLength(3);
  });
});
