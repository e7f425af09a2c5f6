// The benchmark runs the fake as a child process and reads its URL from stdout; this checks that contract.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./fake-openai-main.ts', import.meta.url));

it('prints its URL, serves with the given key and behavior, and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--key', 'sk-cli-0123456789abcd', '--behavior', '{"type":"ok","delayMs":1}'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  try {
    const [first] = (await once(child.stdout, 'data')) as [Buffer];
    const url = first.toString().trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const ok = await fetch(`${url}/models`, { headers: { authorization: 'Bearer sk-cli-0123456789abcd' } });
    expect(ok.status).toBe(200);
    const denied = await fetch(`${url}/models`, { headers: { authorization: 'Bearer sk-other-000000000000' } });
    expect(denied.status).toBe(401);
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(0);
  expect(stderr).toContain('served 2 requests');
});
