import type { Redis } from 'ioredis';
import { RedisScript, type ScriptArg } from './redis-script.js';
import { ACQUIRE_BODY, COMMON, INFLIGHT_BODY, READ_SPEND_BODY, SETTLE_BODY } from './scripts.js';

/** The operations the batch script runs; each is the body of its script in scripts.ts, unchanged. */
export type BatchOp = 'acquire' | 'settle' | 'readSpend' | 'inflight';
const OP_CODES: Record<BatchOp, number> = { acquire: 1, settle: 2, readSpend: 3, inflight: 4 };

/**
 * ARGV: prefix, then per operation: opCode, argCount, args… (each op's own ARGV without the prefix, which every op
 * shares). Returns one reply per operation, in order. Each operation runs exactly as its own script would, one
 * after another inside this one atomic script: an admission is still all-or-nothing, and an operation sees the
 * effects of those queued before it. TIME is read once per batch (the operations of one batch are microseconds
 * apart).
 */
export const BATCH_LUA = `${COMMON}
local function acquire(ARGV)
${ACQUIRE_BODY}
end
local function settle(ARGV)
${SETTLE_BODY}
end
local function readSpend(ARGV)
${READ_SPEND_BODY}
end
local function inflight(ARGV)
${INFLIGHT_BODY}
end
local ops = {acquire, settle, readSpend, inflight}
local out = {}
local total = #ARGV
local i = 2
while i <= total do
  local op = ops[tonumber(ARGV[i])]
  local len = tonumber(ARGV[i + 1])
  if op == nil or len == nil or len < 0 or i + 1 + len > total then return redis.error_reply('malformed batch') end
  local sub = {P}
  for j = 1, len do sub[j + 1] = ARGV[i + 1 + j] end
  i = i + 2 + len
  out[#out + 1] = op(sub)
end
return out
`;

const batchScript = new RedisScript(BATCH_LUA);

/**
 * Most operations one script call may carry: the whole batch runs inside Redis as one command, and every other
 * client waits for it, so a burst is split rather than stalling Redis for long.
 */
export const MAX_BATCH_OPS = 64;

interface Queued {
  code: number;
  args: readonly ScriptArg[];
  resolve(reply: unknown): void;
  reject(err: unknown): void;
}

/**
 * Collects the limits operations of one event-loop turn (the admissions and settlements of every request that
 * reached that point together) and sends them as ONE EVALSHA of BATCH_LUA: at load, one command and one reply
 * parse per turn instead of one per operation, and the Redis server runs one script call instead of dozens. A
 * lone request pays only for a setImmediate. Operations leave in the order they were queued, on one connection,
 * so a later operation (a release after a timed-out admission) always runs after an earlier one.
 *
 * A failed call (timeout, connection lost, script error) rejects every operation of that batch; each caller
 * handles it as it would its own failed script (an admission is released, a settlement goes to the ledger).
 */
export class ScriptBatcher {
  private queue: Queued[] = [];
  private scheduled = false;
  private seq = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly maxOps: number = MAX_BATCH_OPS,
  ) {}

  /**
   * Queues one operation (its ARGV without the prefix); resolves with that operation's reply. Its number is
   * `lastSeq` right after this call: operations run in Redis in the order of their numbers.
   */
  run(op: BatchOp, args: readonly ScriptArg[]): Promise<unknown> {
    this.seq++;
    return new Promise((resolve, reject) => {
      this.queue.push({ code: OP_CODES[op], args, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** The number of the operation queued last. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Operations queued and not yet sent. */
  get queued(): number {
    return this.queue.length;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    if (queue.length <= this.maxOps) this.send(queue);
    else for (let from = 0; from < queue.length; from += this.maxOps) this.send(queue.slice(from, from + this.maxOps));
  };

  private send(batch: readonly Queued[]): void {
    const argv: ScriptArg[] = [this.prefix];
    for (const op of batch) {
      argv.push(op.code, op.args.length);
      for (const arg of op.args) argv.push(arg);
    }
    batchScript.run(this.redis, argv).then(
      (replies) => {
        if (!Array.isArray(replies) || replies.length !== batch.length) {
          const err = new Error(`redis batch answered ${Array.isArray(replies) ? replies.length : typeof replies} replies for ${batch.length} operations`);
          for (const op of batch) op.reject(err);
          return;
        }
        for (let i = 0; i < batch.length; i++) (batch[i] as Queued).resolve(replies[i]);
      },
      (err: unknown) => {
        for (const op of batch) op.reject(err);
      },
    );
  }
}
