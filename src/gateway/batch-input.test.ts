import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { checkLines, type BatchLine } from './batch-input.js';

const line = (model: string, url = '/v1/chat/completions') => JSON.stringify({ custom_id: model, method: 'POST', url, body: { model, messages: [] } });

/** `text` in chunks of `size` bytes, as a stream would deliver it. */
function chunked(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** The lines the rules saw. */
async function seen(text: string, size: number, maxLineBytes = 1 << 20): Promise<BatchLine[]> {
  const out: BatchLine[] = [];
  await checkLines(chunked(text, size), (l) => void out.push(l), maxLineBytes);
  return out;
}

async function refusal(text: string, size = 7, maxLineBytes = 1 << 20, rules = (_l: BatchLine): void => undefined): Promise<KeywardenError> {
  const err = await checkLines(chunked(text, size), rules, maxLineBytes).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KeywardenError);
  return err as KeywardenError;
}

describe('batch input lines', () => {
  it('sees every line whole, whatever the chunking, with CRLF, blank lines and no final newline', async () => {
    const text = `${line('a')}\r\n\n${line('b', '/v1/./embeddings')}\n   \n${line('c')}`;
    for (const size of [1, 3, 64, 100_000]) {
      const lines = await seen(text, size);
      expect(lines.map((l) => `${l.number}:${String(l.body.model)}:${l.path}:${l.group}`)).toEqual([
        '1:a:/v1/chat/completions:chat',
        '3:b:/v1/embeddings:embeddings',
        '5:c:/v1/chat/completions:chat',
      ]);
      expect(lines[0]?.raw.toString()).toBe(line('a'));
    }
  });

  it('names the line that breaks the rules, keeping its status and code', async () => {
    const err = await refusal(`${line('a')}\n${line('b')}\n`, 5, 1 << 20, (l) => {
      if (l.body.model === 'b') throw new KeywardenError('KW_MODEL_NOT_ALLOWED', { message: 'no b' });
    });
    expect(err.code).toBe('KW_MODEL_NOT_ALLOWED');
    expect(err.status).toBe(403);
    expect(err.message).toBe('Line 2 of the batch input file: no b');
    expect(err.param).toBe('input_file_id');
  });

  it('refuses lines that are not POST requests to an API path with a JSON body', async () => {
    for (const bad of [
      'not json',
      '[1,2]',
      JSON.stringify({ method: 'GET', url: '/v1/files', body: {} }),
      JSON.stringify({ method: 'POST', url: '/v1/chat/completions' }),
      JSON.stringify({ method: 'POST', url: '/v1/chat/completions', body: [] }),
      JSON.stringify({ method: 'POST', url: 'https://evil.example/v1/chat/completions', body: {} }),
      JSON.stringify({ method: 'POST', url: '/admin/v1/keys', body: {} }),
      JSON.stringify({ method: 'POST', url: '/v1/../admin/v1/keys', body: {} }),
      // Ambiguous: a runner keeping the first `model` would run o3, though the last one is what JSON.parse reads.
      '{"method":"POST","url":"/v1/chat/completions","body":{"model":"o3","model":"gpt-4o-mini"}}',
      '{"method":"POST","method":"POST","url":"/v1/chat/completions","body":{}}',
    ]) {
      const err = await refusal(`${line('ok')}\n${bad}\n`);
      expect(err.status, bad).toBe(400);
      expect(err.message, bad).toMatch(/^Line 2 of the batch input file/);
    }
  });

  it('bounds a line: one longer than the cap is refused however it is chunked, memory stays one line', async () => {
    const long = JSON.stringify({ method: 'POST', url: '/v1/chat/completions', body: { model: 'a', pad: 'x'.repeat(5_000) } });
    for (const size of [100, 4_096, 100_000]) {
      const err = await refusal(`${line('a')}\n${long}\n${line('b')}\n`, size, 4_000);
      expect(err.message).toBe('Line 2 of the batch input file is longer than 4000 bytes.');
    }
    // At the end of the file, without a newline, too.
    expect((await refusal(`${line('a')}\n${long}`, 1_000, 4_000)).message).toMatch(/^Line 2 /);
    expect(await seen(`${line('a')}\n${long}\n`, 1_000, 6_000)).toHaveLength(2);
  });
});
