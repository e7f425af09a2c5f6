import { describe, expect, it } from 'vitest';
import { FakeKeys } from '../rules/fake-keys.js';
import { scanText } from './engine.js';

/**
 * One long line full of candidates: provider words, key names, bare 32- and 64-character tokens, `sk-` anchors,
 * base64 blobs and real keys. Every candidate needs its line and its context; before the line index each lookup
 * walked the whole line, so the time grew with the square of the line's length.
 */
function singleLine(bytes: number): string {
  const f = new FakeKeys(1313);
  const b64 = Buffer.from(`deploy config ${f.base62(40)}`).toString('base64');
  const chunks: string[] = [];
  let size = 0;
  while (size < bytes) {
    const chunk =
      ` "mistral": {"api_key": "${f.mistral()}"}, together sha ${f.hex(64)}, azure token ${f.hex(32)},` +
      ` sk-${'x'.repeat(40)} task-runner data: ${b64} "sk-proj-" + "short",`;
    chunks.push(chunk);
    size += chunk.length;
  }
  return chunks.join('').slice(0, bytes);
}

/** CPU time of this process in ms: unlike wall time, it does not grow when other processes load the machine. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function bestTime(text: string, runs: number): { ms: number; findings: number } {
  let ms = Infinity;
  let findings = 0;
  for (let i = 0; i < runs; i++) {
    const start = cpuMs();
    findings = scanText(text).length;
    ms = Math.min(ms, cpuMs() - start);
  }
  return { ms, findings };
}

describe('linear time on one long line', () => {
  it('scans a 1 MB single-line file in at most 15x the time of a 100 KB one', () => {
    const small = singleLine(100_000);
    const large = singleLine(1_000_000);
    expect(small.includes('\n')).toBe(false);
    bestTime(small, 2); // warm up the JIT so the small run is not charged for compilation
    // Interleaved rounds, best of each: a load spike from other processes then hits both sizes alike.
    let smallRun = { ms: Infinity, findings: 0 };
    let largeRun = { ms: Infinity, findings: 0 };
    for (let round = 0; round < 5; round++) {
      const s = bestTime(small, 3);
      const l = bestTime(large, 1);
      if (s.ms < smallRun.ms) smallRun = s;
      if (l.ms < largeRun.ms) largeRun = l;
    }
    // The candidates are real: each chunk holds one Mistral key, so the findings grow with the input too.
    expect(smallRun.findings).toBeGreaterThan(300);
    expect(largeRun.findings).toBeGreaterThan(smallRun.findings * 9);
    // Floor the small time at 2 ms so timer granularity on a fast machine cannot make the ratio meaningless.
    expect(largeRun.ms / Math.max(smallRun.ms, 2)).toBeLessThanOrEqual(15);
  });
});
