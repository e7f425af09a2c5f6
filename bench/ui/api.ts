// Timed admin API calls: sequential (one at a time, as a console page issues them), after a warm-up.
import { performance } from 'node:perf_hooks';
import { median, percentile } from '../gateway/stats.js';

export interface ApiTiming {
  id: string;
  path: string;
  reps: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  bytes: number;
}

export async function timeApi(origin: string, token: string, id: string, path: string, reps: number, warmup = 3): Promise<ApiTiming> {
  const samples: number[] = [];
  let bytes = 0;
  for (let i = 0; i < warmup + reps; i++) {
    const started = performance.now();
    const res = await fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.arrayBuffer();
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${Buffer.from(body).toString('utf8').slice(0, 300)}`);
    bytes = body.byteLength;
    if (i >= warmup) samples.push(ms);
  }
  const round = (n: number): number => Math.round(n * 100) / 100;
  return { id, path, reps, medianMs: round(median(samples)), p95Ms: round(percentile(samples, 95)), maxMs: round(Math.max(...samples)), bytes };
}
