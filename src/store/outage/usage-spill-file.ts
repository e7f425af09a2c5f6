import { appendFileSync, createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { UsageRecord } from '../types.js';

/** The file's name inside its directory: one per replica (each replica has its own data directory). */
export const SPILL_FILE_NAME = 'usage-outage.jsonl';
/** The file being replayed: renamed away from SPILL_FILE_NAME so records spilled meanwhile start a new file. */
export const REPLAYING_FILE_NAME = 'usage-outage.replaying.jsonl';

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
  private readonly replaying: string;
  /** Both files: the bound covers what is being replayed too. */
  private bytesOnDisk: number;

  constructor(
    dir: string,
    private readonly maxBytes: number,
  ) {
    this.file = path.join(dir, SPILL_FILE_NAME);
    this.replaying = path.join(dir, REPLAYING_FILE_NAME);
    this.bytesOnDisk = sizeOf(this.file) + sizeOf(this.replaying);
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
   * Hands the records to `write` in order, `chunkSize` at a time, then deletes them. The file is first renamed
   * aside, so records spilled while the replay runs start a new file instead of being read (or deleted) half-way.
   * If `write` throws, the renamed file is put back in front of anything spilled meanwhile (order kept) and the
   * error propagates; a process killed mid-replay leaves the renamed file, which the next replay takes first.
   */
  async replay(write: (records: UsageRecord[]) => Promise<void>, chunkSize = 2000): Promise<SpillReplayResult> {
    this.putBack();
    if (!existsSync(this.file)) {
      this.bytesOnDisk = 0;
      return { replayed: 0, skipped: 0 };
    }
    renameSync(this.file, this.replaying);
    const lines = createInterface({ input: createReadStream(this.replaying, { encoding: 'utf8' }), crlfDelay: Infinity });
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
    } catch (err) {
      lines.close();
      this.putBack();
      throw err;
    }
    lines.close();
    const size = sizeOf(this.replaying);
    rmSync(this.replaying, { force: true });
    this.bytesOnDisk = Math.max(0, this.bytesOnDisk - size);
    return { replayed, skipped };
  }

  /** The renamed file goes back in front of the new one: (replaying + new) becomes the file. Synchronous. */
  private putBack(): void {
    if (!existsSync(this.replaying)) return;
    if (existsSync(this.file)) {
      appendFileSync(this.replaying, readFileSync(this.file));
      rmSync(this.file, { force: true });
    }
    renameSync(this.replaying, this.file);
  }
}

function sizeOf(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
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
