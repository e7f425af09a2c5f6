import type { Redis } from 'ioredis';
import { RedisScript, type ScriptArg } from './redis-script.js';
import { ACQUIRE_BODY, COMMON, INFLIGHT_BODY, READ_SPEND_BODY, SETTLE_BODY } from './scripts.js';

/** The operations the batch script runs; each is the body of its script in scripts.ts, unchanged. */
export type BatchOp = 'acquire' | 'settle' | 'readSpend' | 'inflight';
const OP_CODES: Record<BatchOp, number> = { acquire: 1, settle: 2, readSpend: 3, inflight: 4 };

/** Separates the fields of one operation in its single argument (ids, period keys and numbers never contain it). */
export const FIELD_SEPARATOR = '\x1f';

/**
 * ARGV: prefix, then one argument per operation: its op code, then its own ARGV without the prefix, joined by
 * FIELD_SEPARATOR (one argument per operation rather than dozens: the client encodes and the server parses far
 * less). Returns one reply per operation, in order. Each operation runs exactly as its own script would, one after
 * another inside this one atomic script: an admission is still all-or-nothing, and an operation sees the effects of
 * those queued before it. TIME is read once per batch (the operations of one batch are microseconds apart).
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
-- {P, field1, field2, ...} from 'code<US>field1<US>field2...'
local function fields(s)
  local t = {P}
  local from = 3
  while true do
    local at = string.find(s, '\\31', from, true)
    if not at then
      t[#t + 1] = string.sub(s, from)
      return t
    end
    t[#t + 1] = string.sub(s, from, at - 1)
    from = at + 1
  end
end
local out = {}
for i = 2, #ARGV do
  local s = ARGV[i]
  local op = ops[tonumber(string.sub(s, 1, 1))]
  if op == nil or string.sub(s, 2, 2) ~= '\\31' then return redis.error_reply('malformed batch') end
  out[#out + 1] = op(fields(s))
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
  /** One argument per queued operation, in queue order (see BATCH_LUA). */
  private encoded: string[] = [];
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
    for (const arg of args) {
      // Ids come from this gateway, but a separator inside one would shift every later field: refuse, never guess.
      if (typeof arg === 'string' && arg.includes(FIELD_SEPARATOR)) return Promise.reject(new Error('redis batch: a field contains the separator'));
    }
    this.seq++;
    this.encoded.push(`${OP_CODES[op]}${FIELD_SEPARATOR}${args.join(FIELD_SEPARATOR)}`);
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
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
    const encoded = this.encoded;
    this.queue = [];
    this.encoded = [];
    if (queue.length <= this.maxOps) this.send(queue, encoded);
    else for (let from = 0; from < queue.length; from += this.maxOps) this.send(queue.slice(from, from + this.maxOps), encoded.slice(from, from + this.maxOps));
  };

  private send(batch: readonly Queued[], encoded: string[]): void {
    const argv: ScriptArg[] = [this.prefix];
    for (const op of encoded) argv.push(op);
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
