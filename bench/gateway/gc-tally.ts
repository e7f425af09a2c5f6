import type { Readable } from 'node:stream';

/** Running totals of a process's garbage collections, read from V8's `--trace-gc-nvp` lines on its stdout. */
export interface GcTotals {
  /** Bytes allocated on the JavaScript heap (each collection reports what was allocated since the one before). */
  allocatedBytes: number;
  /** Young-generation collections (`gc=s`, scavenges). */
  scavenges: number;
  /** Full collections (`gc=mc`, mark-compact). */
  markCompacts: number;
  /** The collections' pauses of the main thread, ms. */
  pauseMs: number;
}

/**
 * Tallies `--trace-gc-nvp` output as it arrives. Why: the allocation per request is the figure that decides how often
 * the young generation is collected, and so how much CPU the scavenger's helper threads take from the gateway's
 * core; unlike CPU time on this VM, it barely moves with host noise, so two builds can be compared on it in a
 * few windows.
 */
export class GcTally {
  private readonly totals: GcTotals = { allocatedBytes: 0, scavenges: 0, markCompacts: 0, pauseMs: 0 };
  private partial = '';

  /** Reads `stream` (the process's stdout) to its end; lines that are not V8's are ignored. */
  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.feed(chunk));
  }

  snapshot(): GcTotals {
    return { ...this.totals };
  }

  private feed(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.count(line);
  }

  private count(line: string): void {
    const kind = /\bgc=(\w+)/.exec(line)?.[1];
    const allocated = /\ballocated=(\d+)/.exec(line)?.[1];
    const pause = /\bpause=([\d.]+)/.exec(line)?.[1];
    if (kind === undefined || allocated === undefined || pause === undefined) return;
    this.totals.allocatedBytes += Number(allocated);
    this.totals.pauseMs += Number(pause);
    if (kind === 's') this.totals.scavenges++;
    else if (kind === 'mc') this.totals.markCompacts++;
  }
}

/** One line for the window between two snapshots: allocation, collections and pauses per request. */
export function gcNote(before: GcTotals, after: GcTotals, requests: number): string {
  const kb = (after.allocatedBytes - before.allocatedBytes) / 1024 / requests;
  const scavenges = ((after.scavenges - before.scavenges) * 1000) / requests;
  const pauseUs = ((after.pauseMs - before.pauseMs) * 1000) / requests;
  return `allocated ${kb.toFixed(2)} KB/request, ${scavenges.toFixed(2)} scavenges and ${after.markCompacts - before.markCompacts} full GCs per 1,000 requests, main-thread GC pause ${pauseUs.toFixed(2)} µs/request`;
}
