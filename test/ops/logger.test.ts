import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';

function sink(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

describe('logger', () => {
  it('writes one JSON object per line when the stream is not a terminal', () => {
    const out = sink(false);
    const logger = createLogger('info', out.stream);
    logger.info('keywarden stopped', { signal: 'SIGTERM', count: 2 });
    logger.warn('line\nbreak "quoted"', { detail: 'a\nb' });
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 'info', msg: 'keywarden stopped', signal: 'SIGTERM', count: 2 });
    // A hostile message cannot forge a second record: the newline stays inside the JSON string.
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ level: 'warn', msg: 'line\nbreak "quoted"', detail: 'a\nb' });
  });

  it('writes readable lines on a terminal, quoting values that would be ambiguous', () => {
    const out = sink(true);
    const logger = createLogger('debug', out.stream);
    logger.error('request failed', { upstreamHost: 'api.openai.com', errno: 'ECONNREFUSED', attempts: 3, note: 'two words', fake: 'x=1\nlevel=info', gone: undefined });
    const text = out.text();
    expect(text).toMatch(/^\d\d:\d\d:\d\d ERROR request failed upstreamHost=api\.openai\.com errno=ECONNREFUSED attempts=3 note="two words" fake="x=1\\nlevel=info"\n$/);
    expect(text).not.toContain('gone=');
    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  it('honours the level in both renderings', () => {
    for (const isTTY of [true, false]) {
      const out = sink(isTTY);
      const logger = createLogger('warn', out.stream);
      logger.info('hidden');
      logger.debug('hidden');
      logger.warn('shown');
      expect(out.text()).not.toContain('hidden');
      expect(out.text()).toContain('shown');
    }
  });
});
