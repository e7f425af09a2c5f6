import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export type ScriptArg = string | number;

/**
 * One Lua script run by its SHA1 (EVALSHA). When Redis does not know it — first use, a restart, SCRIPT FLUSH, a
 * failover to a replica that never saw it — the NOSCRIPT error is answered by sending the source once (EVAL),
 * which also caches it again.
 */
export class RedisScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, args: readonly ScriptArg[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, 0, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, 0, ...args);
    }
  }
}
