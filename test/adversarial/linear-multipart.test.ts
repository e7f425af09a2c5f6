import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';

/**
 * Multipart uploads through the gateway, sent as raw bytes (the SDK cannot write an ambiguous form). A key scoped
 * to whisper-1 must never get another model to the upstream, whatever a second parser could read from the form;
 * a crafted body must cost about what a benign one of the same size costs.
 */
let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness();
  key = (await h.createKey({ models: ['whisper-1'] })).key;
});
afterAll(() => h.close());

const B = 'kwBoundary7MA4YWxk';

function post(body: Buffer | string, contentType = `multipart/form-data; boundary=${B}`): Promise<Response> {
  return fetch(`${h.server.url}/v1/audio/transcriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
}

function part(disposition: string, value: string, extra = ''): string {
  return `--${B}\r\nContent-Disposition: ${disposition}\r\n${extra}\r\n${value}\r\n`;
}

const FILE = part('form-data; name="file"; filename="a.wav"', 'RIFF....WAVE', 'Content-Type: audio/wav\r\n');
const MODEL = part('form-data; name="model"', 'whisper-1');
const END = `--${B}--\r\n`;

async function expectRefused(res: Response): Promise<void> {
  expect(res.status).toBe(400);
  const body = (await res.json()) as { error: { type: string; code: string; message: string } };
  expect(body.error.code).toBe('invalid_request');
  expect(body.error.type).toBe('invalid_request_error');
}

describe('multipart forms', () => {
  it('forwards a benign SDK upload and a raw one byte for byte', async () => {
    const sdk = h.client(key);
    await sdk.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.from('RIFF....'), 'a.wav') });
    expect(h.fake.lastRequest()?.multipart?.fields.model).toBe('whisper-1');
    const raw = Buffer.from(FILE + MODEL + END);
    const res = await post(raw);
    expect(res.status).toBe(200);
    expect(h.fake.lastRequest()?.body.equals(raw)).toBe(true);
  });

  it('refuses every ambiguous way to name a second model', async () => {
    const before = h.fake.requestCount;
    const smuggled = (disposition: string, extra = ''): string => FILE + MODEL + part(disposition, 'gpt-4o-transcribe', extra) + END;
    const attacks: Array<[string, string]> = [
      ['unquoted name', smuggled('form-data; name=model')],
      ['duplicate quoted name', smuggled('form-data; name="model"')],
      ['upper-case field name', smuggled('form-data; name="MODEL"')],
      ['upper-case parameter', smuggled('form-data; NAME="model"')],
      ['RFC 2231 name*', smuggled("form-data; name*=UTF-8''model")],
      ['name then name*', smuggled(`form-data; name="prompt"; name*=UTF-8''model`)],
      ['two names in one part', smuggled('form-data; name="prompt"; name="model"')],
      ['filename trick', smuggled('form-data; name="model"; filename="a"; filename="b"')],
      ['filename*', smuggled("form-data; name=\"model\"; filename*=UTF-8''x.txt")],
      ['escaped quote', smuggled('form-data; name="mo\\"del"')],
      ['two dispositions', FILE + MODEL + part('form-data; name="prompt"', 'gpt-4o-transcribe', 'Content-Disposition: form-data; name="model"\r\n') + END],
      ['junk line hiding a second disposition', FILE + MODEL + part('form-data; name="prompt"', 'gpt-4o-transcribe', 'junk\r\nContent-Disposition: form-data; name="model"\r\n') + END],
      ['folded header', FILE + MODEL + part('form-data; name="prompt"', 'gpt-4o-transcribe', 'X-A: 1\r\n name="model"\r\n') + END],
      ['delimiter with trailing data', `--${B} x\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o-transcribe\r\n${FILE}${MODEL}${END}`],
      ['base64 model', FILE + part('form-data; name="model"', 'Z3B0LTRv', 'Content-Transfer-Encoding: base64\r\n') + END],
      ['part after the closing boundary', FILE + MODEL + END + part('form-data; name="model"', 'gpt-4o-transcribe') + END],
      ['part before the first boundary', `preamble\r\n${part('form-data; name="model"', 'gpt-4o-transcribe')}${FILE}${MODEL}${END}`],
      ['unterminated form', FILE + MODEL],
    ];
    for (const [name, body] of attacks) {
      const res = await post(body);
      expect(res.status, name).toBe(400);
      await expectRefused(res);
    }
    expect(h.fake.requestCount).toBe(before);
  });

  it('refuses a Content-Type with a second boundary, whichever one the upstream would pick', async () => {
    const before = h.fake.requestCount;
    // Two complete forms in one body: one per boundary, each with a different model.
    const other = 'otherBoundary';
    const body = `--${other}\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o-transcribe\r\n--${other}--\r\n${FILE}${MODEL}${END}`;
    for (const contentType of [
      `multipart/form-data; boundary=${B}; boundary=${other}`,
      `multipart/form-data; boundary=${other}; boundary=${B}`,
      `multipart/form-data; boundary="${B}"; Boundary=${other}`,
      `multipart/form-data; boundary=${B}; boundary*=UTF-8''${other}`,
    ]) {
      await expectRefused(await post(body, contentType));
    }
    expect(h.fake.requestCount).toBe(before);
  });

  it('still enforces the model scope on a well-formed form', async () => {
    const res = await post(FILE + part('form-data; name="model"', 'gpt-4o-transcribe') + END);
    expect(res.status).toBe(403);
    const sdk = h.client(key);
    await expect(sdk.audio.transcriptions.create({ model: 'gpt-4o-transcribe', file: await toFile(Buffer.from('x'), 'a.wav') })).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
  });

  it('reads a crafted 320 KB body in time comparable to a benign one of the same size', async () => {
    const size = 320 * 1024;
    const benign = Buffer.from(part('form-data; name="file"; filename="a.wav"', 'x'.repeat(size - 400), 'Content-Type: audio/wav\r\n') + MODEL + END);
    // The old regex reader went quadratic on a long header line of repeated `content-disposition:` tokens, and
    // rescanned the body for every delimiter; these are those shapes and a few more.
    const crafted = [
      `--${B}\r\nContent-Disposition: form-data; ${'content-disposition:'.repeat(size / 20)}\r\n\r\nx\r\n${MODEL}${END}`,
      `--${B}\r\n`.repeat(size / (B.length + 4)),
      `${FILE}--${B}\r\n${'\r\n'.repeat(size / 2)}`,
      `${MODEL}${`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n`.repeat(size / 64)}${END}`,
      `--${B}\r\nContent-Disposition: form-data; name="file"\r\n\r\n${`\r\n--${B.slice(0, -1)}`.repeat(size / (B.length + 3))}\r\n${END}`,
    ].map((text) => Buffer.from(text));
    const timed = async (body: Buffer): Promise<number> => {
      const started = performance.now();
      const res = await post(body);
      await res.arrayBuffer();
      return performance.now() - started;
    };
    await timed(benign); // warm-up
    const benignMs = Math.min(await timed(benign), await timed(benign), await timed(benign));
    for (const body of crafted) {
      expect(body.length).toBeGreaterThan(size * 0.9);
      const craftedMs = Math.min(await timed(body), await timed(body));
      // Relative, not absolute: a crafted body may cost at most 5× a benign one (plus scheduling noise).
      expect(craftedMs, `crafted body of ${body.length} bytes`).toBeLessThan(benignMs * 5 + 50);
    }
  });
});
