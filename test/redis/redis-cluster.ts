// Several in-process gateway replicas sharing one Store (the harness's SQLite) and one throw-away Redis, as a
// scaled-out deployment shares PostgreSQL and Redis. Replica 0 is the harness's own server (its backend chosen at
// start-up from `limits.redis.url`); the others are extra gateways built on the same store and vault.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import OpenAI from 'openai';
import type { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/index.js';
import { createGateway, type Gateway } from '../../src/gateway/create-gateway.js';
import { createLogger } from '../../src/log/logger.js';
import { RedisLimitsBackend } from '../../src/limits/redis/redis-backend.js';
import { createRedisClient } from '../../src/limits/redis/redis-client.js';
import { createOutboundPolicy } from '../../src/policy/outbound-url.js';
import { PriceTable } from '../../src/pricing/index.js';
import { BillingLedger } from '../support/fake-openai-billing.js';
import type { FakeOpenAIOptions } from '../support/fake-openai.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

export interface Replica {
  url: string;
  gateway: Gateway;
  backend: RedisLimitsBackend;
  client(apiKey: string, options?: Partial<ConstructorParameters<typeof OpenAI>[0]>): OpenAI;
}

export interface Cluster {
  h: Harness;
  redis: TestRedis;
  billing: BillingLedger;
  replicas: Replica[];
  /** Settled spend the gateway shows for a key's first budget. */
  spentOf(id: string): Promise<number>;
  /** Another backend on the same Redis and store, not attached to any gateway (a replica driven by hand). */
  extraBackend(leaseMs?: number): Promise<{ backend: RedisLimitsBackend; redis: Redis }>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  replicas?: number;
  leaseMs?: number;
  failOpen?: boolean;
  /** `limits.failOpen` of the extra replicas (default: the same as replica 0). */
  extraFailOpen?: boolean;
  fake?: FakeOpenAIOptions;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const redis = await startTestRedis();
  const billing = new BillingLedger();
  const leaseMs = options.leaseMs ?? 3000;
  const limits = { failOpen: options.failOpen ?? false, redis: { url: redis.url, leaseMs } };
  let h: Harness;
  try {
    h = await startHarness({ fake: { billing, ...options.fake }, config: { limits } });
  } catch (err) {
    await redis.stop();
    throw err;
  }
  const config = parseConfig({
    outbound: { allow: ['127.0.0.1'] },
    dataDir: h.dataDir,
    limits: { ...limits, failOpen: options.extraFailOpen ?? limits.failOpen },
    log: { level: 'silent' },
  });
  const logger = createLogger('silent', new PassThrough());
  const clients: Redis[] = [];
  const backends: RedisLimitsBackend[] = [];
  const servers: Server[] = [];
  const gateways: Gateway[] = [];

  const extraBackend = async (lease = leaseMs): Promise<{ backend: RedisLimitsBackend; redis: Redis }> => {
    const client = createRedisClient(redis.url, 1000);
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    const backend = new RedisLimitsBackend({ redis: client, ledger: h.server.services.store.spend, leaseMs: lease });
    backends.push(backend);
    return { backend, redis: client };
  };

  const own = h.server.gateway;
  const replicas: Replica[] = [
    { url: h.server.url, gateway: own, backend: own.limiter.backend as RedisLimitsBackend, client: (key, o) => h.client(key, o) },
  ];
  for (let i = 1; i < (options.replicas ?? 3); i++) {
    const { backend } = await extraBackend();
    backend.start();
    const { services } = h.server;
    const gateway = createGateway({
      store: services.store,
      vault: services.vault,
      config,
      prices: new PriceTable(config.pricing.overrides),
      logger,
      now: () => h.clock.now(),
      outbound: createOutboundPolicy(config.outbound),
      limits: backend,
    });
    gateways.push(gateway);
    const server = createServer((req, res) => void gateway.handle(req, res));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    replicas.push({
      url,
      gateway,
      backend,
      client: (key, o = {}) => new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0, timeout: 15_000, ...o }),
    });
  }

  return {
    h,
    redis,
    billing,
    replicas,
    extraBackend,
    async spentOf(id) {
      const res = await h.admin<{ budgets: Array<{ spent_usd: number }> }>('GET', `/keys/${id}`);
      return res.body.budgets[0]?.spent_usd ?? Number.NaN;
    },
    async close() {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      for (const gateway of gateways) await gateway.close();
      for (const backend of backends) backend.stop();
      for (const client of clients) client.disconnect();
      await h.close();
      await redis.stop();
    },
  };
}
