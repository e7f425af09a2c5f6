import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { boundaryOf, multipartFields } from './multipart-model.js';
import { parseRequestBody } from './request-body.js';

function form(boundary: string, parts: Array<[string, string, string?]>): Buffer {
  const chunks = parts.map(([name, value, filename]) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n\r\n${value}\r\n`,
  );
  return Buffer.from(`${chunks.join('')}--${boundary}--\r\n`);
}

describe('multipart fields', () => {
  it('finds the model field after a file part', () => {
    const body = form('XyZ', [['file', 'RIFF....binary--XyZ-not-a-boundary', 'a.wav'], ['model', 'whisper-1']]);
    expect(boundaryOf('multipart/form-data; boundary=XyZ')).toBe('XyZ');
    expect(boundaryOf('multipart/form-data; boundary="q q"')).toBe('q q');
    expect(multipartFields(body, 'XyZ', 'model')).toEqual(['whisper-1']);
    expect(parseRequestBody(body, 'multipart/form-data; boundary=XyZ', true).model).toBe('whisper-1');
  });

  it('refuses a duplicated model field, which could smuggle a second model past the scope check', () => {
    const body = form('b', [['model', 'gpt-4o-mini'], ['model', 'gpt-4o']]);
    expect(() => parseRequestBody(body, 'multipart/form-data; boundary=b', true)).toThrow(KeywardenError);
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
