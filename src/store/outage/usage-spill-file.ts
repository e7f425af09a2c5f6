import { appendFileSync, createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { UsageRecord } from '../types.js';

/** The file's name inside its directory: one per replica (each replica has its own data directory). */
export const SPILL_FILE_NAME = 'usage-outage.jsonl';

/**
 * One line of the file. Validated on the way back in: a line torn by a crash mid-append (the last one) or edited
 * by hand is skipped and counted, never inserted half-read.
 */
const spilledRecordSchema = z
  .object({
    id: z.string().min(1).max(200),
    ts: z.number(),
    keyId: z.string().max(200),
    upstreamId: z.string().max(200).nullable(),
    endpoint: z.string().max(2000),
    model: z.string().max(2000).nullable(),
    status: z.number().int(),
    stream: z.boolean(),
    promptTokens: z.number(),
    cachedTokens: z.number(),
    completionTokens: z.number(),
    reasoningTokens: z.number(),
    costUsd: z.number().nullable(),
    priceMissing: z.boolean(),
    latencyMs: z.number(),
    clientIp: z.string().max(200),
    errorCode: z.string().max(200).nullable(),
    upstreamKeyId: z.string().max(200).nullable().optional(),
  })
  .strict();

export interface SpillReplayResult {
  replayed: number;
  /** Lines that were not a valid record (a torn last line after a crash): skipped. */
  skipped: number;
}

/**
 * Usage records that did not fit in memory while the database was unreachable: appended in order, one JSON line
 * each, up to `maxBytes`, replayed in order when it returns and then removed. A record holds ids, counts, an IP
 * and a model name; never a key or a token (the record type has no field for one).
 *
 * Appends are synchronous: the file is written before the records leave memory, so a process killed during the
 * outage leaves them on disk for the next start to replay. Replay is idempotent because every record carries its
 * id and the store's insert ignores an id it already has: a crash mid-replay replays the whole file again.
 */
export class UsageSpillFile {
  readonly file: string;
  private bytesOnDisk: number;

  constructor(
    dir: string,
    private readonly maxBytes: number,
  ) {
    this.file = path.join(dir, SPILL_FILE_NAME);
    this.bytesOnDisk = existsSync(this.file) ? statSync(this.file).size : 0;
  }

  /** Bytes waiting to be replayed (a file left by a previous process counts too). */
  get bytes(): number {
    return this.bytesOnDisk;
  }

  get hasRecords(): boolean {
    return this.bytesOnDisk > 0;
  }

  /**
   * Appends the longest prefix of `records` that fits within the bound (oldest first, so the file stays in order)
   * and returns how many it wrote: fewer than all means the file is full.
   */
  append(records: readonly UsageRecord[]): number {
    let text = '';
    let size = 0;
    let count = 0;
    for (const record of records) {
      const line = `${JSON.stringify(record)}\n`;
      const lineBytes = Buffer.byteLength(line);
      if (this.bytesOnDisk + size + lineBytes > this.maxBytes) break;
      text += line;
      size += lineBytes;
      count++;
    }
    if (count === 0) return 0;
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    appendFileSync(this.file, text, { mode: 0o600 });
    this.bytesOnDisk += size;
    return count;
  }

  /**
   * Hands the file's records to `write` in order, `chunkSize` at a time, then deletes the file. If `write` throws,
   * the file stays (whole) for the next attempt and the error propagates.
   */
  async replay(write: (records: UsageRecord[]) => Promise<void>, chunkSize = 2000): Promise<SpillReplayResult> {
    if (!existsSync(this.file)) {
      this.bytesOnDisk = 0;
      return { replayed: 0, skipped: 0 };
    }
    const lines = createInterface({ input: createReadStream(this.file, { encoding: 'utf8' }), crlfDelay: Infinity });
    let chunk: UsageRecord[] = [];
    let replayed = 0;
    let skipped = 0;
    try {
      for await (const line of lines) {
        const record = parseLine(line);
        if (record === null) {
          if (line.length > 0) skipped++;
          continue;
        }
        chunk.push(record);
        if (chunk.length >= chunkSize) {
          await write(chunk);
          replayed += chunk.length;
          chunk = [];
        }
      }
      if (chunk.length > 0) {
        await write(chunk);
        replayed += chunk.length;
      }
    } finally {
      lines.close();
    }
    rmSync(this.file, { force: true });
    this.bytesOnDisk = 0;
    return { replayed, skipped };
  }
}

function parseLine(line: string): UsageRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = spilledRecordSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
