// Runs the fake upstream as its own process, so a benchmark measures the gateway and not a fake sharing
// its event loop. Prints the base URL as the first stdout line; stops on SIGINT/SIGTERM.
//
//   node --import tsx test/support/fake-openai-main.ts [--port N] [--key sk-…]… [--behavior JSON] [--record]
//   env: FAKE_OPENAI_PORT, FAKE_OPENAI_KEYS (comma-separated), FAKE_OPENAI_BEHAVIOR (JSON), FAKE_OPENAI_RECORD=1
//
// Recording is off by default here: a long benchmark would otherwise keep every request in memory.
import { parseArgs } from 'node:util';
import { startFakeOpenAI, type FakeBehavior } from './fake-openai.js';
import { isObject } from './fake-openai-util.js';

const BEHAVIOR_TYPES = new Set(['ok', 'error', 'html', 'hang', 'drop']);
const NUMERIC_FIELDS = ['status', 'delayMs', 'chunkDelayMs', 'cutAfterChunks'];

function parseBehavior(text: string): FakeBehavior {
  const value: unknown = JSON.parse(text);
  if (!isObject(value) || typeof value.type !== 'string' || !BEHAVIOR_TYPES.has(value.type)) {
    throw new Error(`behavior must be a JSON object with type one of ${[...BEHAVIOR_TYPES].join(', ')}`);
  }
  for (const field of NUMERIC_FIELDS) {
    if (value[field] !== undefined && typeof value[field] !== 'number') throw new Error(`behavior.${field} must be a number`);
  }
  if (value.type === 'error' && typeof value.status !== 'number') throw new Error('an error behavior needs a status');
  // The discriminant and numeric fields are checked above; the remaining fields are optional strings.
  return value as FakeBehavior;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      key: { type: 'string', multiple: true },
      behavior: { type: 'string' },
      record: { type: 'boolean' },
    },
  });
  const portText = values.port ?? process.env.FAKE_OPENAI_PORT ?? '0';
  const port = Number.parseInt(portText, 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${portText}`);
  const keys = values.key ?? process.env.FAKE_OPENAI_KEYS?.split(',').filter((k) => k !== '');
  const behaviorText = values.behavior ?? process.env.FAKE_OPENAI_BEHAVIOR;

  const fake = await startFakeOpenAI({
    port,
    apiKeys: keys !== undefined && keys.length > 0 ? keys : undefined,
    behavior: behaviorText === undefined ? undefined : parseBehavior(behaviorText),
    record: values.record ?? process.env.FAKE_OPENAI_RECORD === '1',
  });
  process.stdout.write(`${fake.url}\n`);

  const stop = (): void => {
    fake.close().then(
      () => process.stderr.write(`fake-openai: served ${fake.requestCount} requests\n`),
      (err: unknown) => process.stderr.write(`fake-openai: close failed: ${String(err)}\n`),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-openai: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
