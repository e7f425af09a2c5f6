import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { boundaryOf, readMultipartFields } from './multipart-model.js';
import { parseMultipartRequest, parseRequestBody } from './request-body.js';

function form(boundary: string, parts: Array<[string, string, string?]>): Buffer {
  const chunks = parts.map(([name, value, filename]) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n\r\n${value}\r\n`,
  );
  return Buffer.from(`${chunks.join('')}--${boundary}--\r\n`);
}

const CT = (b: string): string => `multipart/form-data; boundary=${b}`;

async function refusal(body: Buffer | string, contentType: string): Promise<string> {
  try {
    await readMultipartFields(Buffer.isBuffer(body) ? body : Buffer.from(body), contentType);
  } catch (err) {
    expect(err).toBeInstanceOf(KeywardenError);
    expect((err as KeywardenError).status).toBe(400);
    return (err as KeywardenError).message;
  }
  throw new Error('the form was accepted');
}

function raw(boundary: string, parts: Array<{ headers: string; value: string }>): string {
  return `${parts.map((p) => `--${boundary}\r\n${p.headers}\r\n\r\n${p.value}\r\n`).join('')}--${boundary}--\r\n`;
}

describe('multipart fields', () => {
  it('finds the model field after a file part that contains boundary-like bytes', async () => {
    const body = form('XyZ', [['file', 'RIFF....binary--XyZ-not-a-boundary', 'a.wav'], ['model', 'whisper-1'], ['stream', 'true']]);
    expect(boundaryOf('multipart/form-data; boundary=XyZ')).toBe('XyZ');
    expect(boundaryOf('multipart/form-data; boundary="q.q"')).toBe('q.q');
    const fields = await readMultipartFields(body, CT('XyZ'));
    expect(fields.get('model')).toBe('whisper-1');
    await expect(parseMultipartRequest(body, CT('XyZ'))).resolves.toMatchObject({ model: 'whisper-1', stream: true });
  });

  it('reads file parts of every size around the part stream buffer (a 17 KB part once stalled the parser)', async () => {
    for (const size of [0, 1, 16_383, 16_384, 16_385, 17_000, 65_536, 65_537, 1_000_000]) {
      const body = Buffer.concat([
        Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'),
        Buffer.alloc(size, 0x61),
        Buffer.from('\r\n--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--b--\r\n'),
      ]);
      expect((await readMultipartFields(body, CT('b'))).get('model'), String(size)).toBe('whisper-1');
    }
  });

  it('accepts array fields repeated (image[]) and a part with a filename', async () => {
    const body = form('b', [['image[]', 'PNG1', 'a.png'], ['image[]', 'PNG2', 'b.png'], ['model', 'gpt-image-1']]);
    expect((await readMultipartFields(body, CT('b'))).get('model')).toBe('gpt-image-1');
  });

  it('refuses a duplicated model field, quoted or not, whatever the case of the name', async () => {
    expect(await refusal(form('b', [['model', 'gpt-4o-mini'], ['model', 'gpt-4o']]), CT('b'))).toMatch(/more than once/);
    expect(await refusal(form('b', [['model', 'gpt-4o-mini'], ['MODEL', 'gpt-4o']]), CT('b'))).toMatch(/more than once/);
    expect(await refusal(form('b', [['Model', 'gpt-4o']]), CT('b'))).toMatch(/lower case/);
    expect(await refusal(form('b', [['language', 'en'], ['language', 'fr']]), CT('b'))).toMatch(/more than once/);
  });

  it('refuses non-canonical Content-Disposition forms that another parser could read differently', async () => {
    const cases = [
      'Content-Disposition: form-data; name=model', // unquoted
      'Content-Disposition: form-data; NAME="model"', // upper-case parameter
      'Content-Disposition: form-data; name*=UTF-8\'\'model', // RFC 2231
      'Content-Disposition: form-data; name="x"; name*=UTF-8\'\'model',
      'Content-Disposition: form-data; name="x"; name="model"', // repeated parameter
      'Content-Disposition: form-data; name="model"; filename="a"; filename="b"',
      'Content-Disposition: form-data; name="model"; filename*=UTF-8\'\'a.wav',
      'Content-Disposition: form-data; name="mo\\"del"', // escaped quote
      'Content-Disposition: form-data; name="model', // unterminated
      'Content-Disposition: form-data; name="model" junk',
      'Content-Disposition: attachment; name="model"',
      'Content-Disposition: form-data',
      'Content-Disposition: form-data; name=""',
      'Content-Disposition: form-data; name="model"; size="3"',
      'Content-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="model"', // repeated header
      'Content-Disposition: form-data; name="model"\r\nContent-Transfer-Encoding: base64',
      'Content-Type: text/plain', // no disposition at all
      'Content-Disposition: form-data; name="prompt"\r\njunk line without a colon\r\nContent-Disposition: form-data; name="model"',
      'Content-Disposition: form-data; name="prompt"\r\nX-A: 1\r\n continued: folded\r\nContent-Disposition: form-data; name="model"',
      `Content-Disposition: form-data; name="prompt"\r\n${'X-Pad: 1\r\n'.repeat(20)}Content-Disposition: form-data; name="model"`,
      `Content-Disposition: form-data; name="prompt"\r\nX-Big: ${'a'.repeat(9000)}\r\nContent-Disposition: form-data; name="model"`,
    ];
    for (const headers of cases) {
      const body = raw('b', [{ headers, value: 'gpt-4o' }]);
      await expect(refusal(body, CT('b')), headers).resolves.toBeTypeOf('string');
    }
  });

  it('refuses Content-Types with two boundaries, an RFC 2231 boundary or junk', async () => {
    const body = form('b', [['model', 'gpt-4o-mini']]);
    for (const contentType of [
      'multipart/form-data; boundary=b; boundary=c',
      'multipart/form-data; boundary=c; boundary=b',
      'multipart/form-data; boundary="b"; BOUNDARY=c',
      "multipart/form-data; boundary=b; boundary*=UTF-8''c",
      'multipart/form-data',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary=b c',
      'multipart/mixed; boundary=b',
      'multipart/form-data; charset=utf-8; charset=latin1; boundary=b',
    ]) {
      await expect(refusal(body, contentType), contentType).resolves.toBeTypeOf('string');
    }
  });

  it('refuses a delimiter line with trailing data, which a strict parser reads as another boundary', async () => {
    const body = `--b junk\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o\r\n--b--\r\n`;
    expect(await refusal(body, CT('b'))).toMatch(/trailing data/);
    // Even RFC 2046 transport padding: parsers disagree on it (busboy reads the part as having no headers).
    const padded = `--b  \r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o\r\n--b--\r\n`;
    expect(await refusal(padded, CT('b'))).toMatch(/trailing data/);
  });

  it('refuses data around the form and a form that never closes', async () => {
    const body = raw('b', [{ headers: 'Content-Disposition: form-data; name="model"', value: 'gpt-4o-mini' }]);
    expect(await refusal(`junk\r\n${body}`, CT('b'))).toMatch(/before its first boundary/);
    expect(await refusal(`${body}--b\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o\r\n--b--\r\n`, CT('b'))).toMatch(
      /after its closing boundary/,
    );
    expect(await refusal(body.slice(0, body.length - 8), CT('b'))).toMatch(/malformed or incomplete/);
  });

  it('refuses an oversized model value and too many parts', async () => {
    expect(await refusal(form('b', [['model', 'x'.repeat(5000)]]), CT('b'))).toMatch(/too long/);
    const many = form('b', Array.from({ length: 300 }, (_, i) => [`f${i}`, 'v'] as [string, string]));
    expect(await refusal(many, CT('b'))).toMatch(/more than 256 parts/);
  });
});

describe('JSON request bodies', () => {
  it('reads JSON whatever the content type says, so a mislabelled body is still checked', () => {
    const body = Buffer.from('{"model":"gpt-4o","stream":true}');
    expect(parseRequestBody(body, 'text/plain', true)).toMatchObject({ model: 'gpt-4o', stream: true });
  });

  it('refuses non-JSON bodies on model-bearing endpoints and tolerates them elsewhere', () => {
    expect(() => parseRequestBody(Buffer.from('model=gpt-4o'), 'application/x-www-form-urlencoded', true)).toThrow(/not valid JSON/);
    expect(parseRequestBody(Buffer.from('raw'), 'application/octet-stream', false).model).toBeNull();
    expect(() => parseRequestBody(Buffer.from('{"model":5}'), 'application/json', true)).toThrow(/must be a string/);
  });
});
