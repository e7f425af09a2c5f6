// cpu-ab --gc reads allocation per request from V8's --trace-gc-nvp lines on a gateway's stdout. The tally must
// match what a process really allocated, and must not be fooled by the other lines a gateway prints or by a line
// split across two pipe reads.
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GcTally, gcNote } from '../../bench/gateway/gc-tally.js';

describe('GcTally', () => {
  it('adds up what a real V8 process allocated, to within a collection', async () => {
    // 100,000 arrays of 100 small integers: 100 × 8 bytes of elements plus headers each, about 85 MB in all.
    const child = spawn(process.execPath, ['--trace-gc-nvp', '--max-semi-space-size=1', '-e', 'let k; for (let i = 0; i < 1e5; i++) k = new Array(100).fill(0);'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const tally = new GcTally(child.stdout);
    await new Promise((resolve) => child.once('close', resolve));
    const totals = tally.snapshot();
    expect(totals.allocatedBytes).toBeGreaterThan(75e6);
    expect(totals.allocatedBytes).toBeLessThan(100e6);
    expect(totals.scavenges).toBeGreaterThan(20);
    expect(totals.pauseMs).toBeGreaterThan(0);
  });

  it('ignores lines that are not the trace, and reads a line split across two reads once', () => {
    const stream = new PassThrough();
    const tally = new GcTally(stream);
    const line = '[1:0x1]  52 ms: pause=1.5 mutator=44.4 gc=s reduce_memory=0 allocated=4000000 promoted=0\n';
    stream.write('keywarden listening on http://127.0.0.1:1234 (allocated=999 is not a GC line)\n');
    stream.write(line.slice(0, 30));
    stream.write(line.slice(30));
    stream.write(line.replace('gc=s', 'gc=mc').replace('allocated=4000000', 'allocated=1000000'));
    expect(tally.snapshot()).toEqual({ allocatedBytes: 5_000_000, scavenges: 1, markCompacts: 1, pauseMs: 3 });
  });

  it('reports a window per request', () => {
    const before = { allocatedBytes: 1024, scavenges: 1, markCompacts: 0, pauseMs: 1 };
    const after = { allocatedBytes: 1024 + 2048 * 1000, scavenges: 5, markCompacts: 1, pauseMs: 3 };
    expect(gcNote(before, after, 1000)).toBe(
      'allocated 2.00 KB/request, 4.00 scavenges and 1 full GCs per 1,000 requests, main-thread GC pause 2.00 µs/request',
    );
  });
});
