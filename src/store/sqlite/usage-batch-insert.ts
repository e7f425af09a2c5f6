import type { Statement } from 'better-sqlite3';
import type { UsageRecord } from '../types.js';
import type { SqliteDatabase } from './database.js';

const COLUMNS =
  'id, ts, key_id, upstream_id, endpoint, model, status, stream, prompt_tokens, cached_tokens, completion_tokens, ' +
  'reasoning_tokens, cost_usd, price_missing, latency_ms, client_ip, error_code, upstream_key_id';
/** Values per row, in COLUMNS order. */
export const USAGE_INSERT_WIDTH = 18;
/** Rows per statement at most: 64 × 18 = 1,152 parameters, far below SQLite's limit (32,766). */
export const USAGE_INSERT_MAX_ROWS = 64;

type Param = string | number | null;

interface Block {
  readonly stmt: Statement<Param[]>;
  /** Reused for every statement of this size: nothing is allocated per flush beyond what SQLite does. */
  readonly params: Param[];
}

/**
 * Writes a batch of usage records with multi-row INSERTs: a batch is cut into blocks of 64, 32, 16, 8, 4, 2 and
 * 1 rows (its binary digits), each one prepared statement run once, so 100 records cost 3 statement runs instead of
 * 100. Each size's statement and parameter array are prepared once and reused (at most seven). `INSERT OR IGNORE`
 * as before: a record whose id is already stored (a flush retried after a commit that did land) is skipped.
 * The caller runs it inside one transaction, so a batch is written whole or not at all.
 */
export class UsageBatchInsert {
  private readonly blocks = new Map<number, Block>();

  constructor(private readonly db: SqliteDatabase) {}

  run(records: readonly UsageRecord[]): void {
    let at = 0;
    for (let size = USAGE_INSERT_MAX_ROWS; size >= 1; size >>= 1) {
      while (records.length - at >= size) {
        const block = this.block(size);
        fill(block.params, records, at, size);
        // Spread, not the array: better-sqlite3 binds each argument directly, while an array argument costs a
        // generic property lookup per element (about 1 µs per row of 18 values, measured with 64-row blocks).
        block.stmt.run(...block.params);
        at += size;
      }
    }
    // Let the parameter arrays drop their strings: they would otherwise pin the last batch until the next flush.
    for (const block of this.blocks.values()) block.params.fill(null);
  }

  private block(size: number): Block {
    let block = this.blocks.get(size);
    if (block === undefined) {
      const row = `(${new Array<string>(USAGE_INSERT_WIDTH).fill('?').join(', ')})`;
      const stmt = this.db.prepare<Param[]>(`INSERT OR IGNORE INTO usage (${COLUMNS}) VALUES ${new Array<string>(size).fill(row).join(', ')}`);
      block = { stmt, params: new Array<Param>(size * USAGE_INSERT_WIDTH).fill(null) };
      this.blocks.set(size, block);
    }
    return block;
  }
}

function fill(params: Param[], records: readonly UsageRecord[], from: number, count: number): void {
  let p = 0;
  for (let i = from; i < from + count; i++) {
    const r = records[i] as UsageRecord;
    params[p++] = r.id;
    params[p++] = r.ts;
    params[p++] = r.keyId;
    params[p++] = r.upstreamId;
    params[p++] = r.endpoint;
    params[p++] = r.model;
    params[p++] = r.status;
    params[p++] = r.stream ? 1 : 0;
    params[p++] = r.promptTokens;
    params[p++] = r.cachedTokens;
    params[p++] = r.completionTokens;
    params[p++] = r.reasoningTokens;
    params[p++] = r.costUsd;
    params[p++] = r.priceMissing ? 1 : 0;
    params[p++] = r.latencyMs;
    params[p++] = r.clientIp;
    params[p++] = r.errorCode;
    params[p++] = r.upstreamKeyId ?? null;
  }
}
